"""Policies as data: validation in words, the typed spec, the canonical form."""

import pytest

from processing.redaction import (
    DEFAULT_POLICY,
    DETECTORS,
    ON_BY_DEFAULT,
    PolicyError,
    Replacement,
    parse_policy,
    validate_policy,
)


def test_an_empty_policy_is_the_default_one():
    assert validate_policy({}) == []
    assert parse_policy({}) == DEFAULT_POLICY


def test_the_default_policy_is_todays_contract():
    assert {name for name in DETECTORS if DEFAULT_POLICY.enabled(name)} == ON_BY_DEFAULT
    assert {"phone", "email", "card", "ssn", "iban"} == ON_BY_DEFAULT
    assert not DEFAULT_POLICY.enabled("ip")
    assert all(DEFAULT_POLICY.detector(name).replacement is Replacement.REDACT for name in DETECTORS)
    assert DEFAULT_POLICY.regions == ("US",)
    assert DEFAULT_POLICY.allow == ()
    assert DEFAULT_POLICY.custom_rules == ()


def test_a_full_policy_parses_into_its_typed_spec():
    spec = parse_policy(
        {
            "version": 7,
            "detectors": {"phone": {"replacement": "typed"}, "ip": True, "card": {"enabled": False}},
            "regions": ["us", "GB"],
            "allow": ["+1 800 555 0100"],
            "custom_rules": [{"name": "employee_id", "pattern": r"EMP-\d{6}", "replacement": "hash"}],
        }
    )

    assert spec.version == 7
    assert spec.detector("phone").replacement is Replacement.TYPED
    assert spec.enabled("phone")
    assert spec.enabled("ip")
    assert not spec.enabled("card")
    assert spec.regions == ("US", "GB")
    assert spec.allow == ("+1 800 555 0100",)
    assert [(rule.name, rule.pattern, rule.replacement) for rule in spec.custom_rules] == [
        ("employee_id", r"EMP-\d{6}", Replacement.HASH)
    ]
    assert spec.custom_rules[0].finding == "custom:employee_id"


def test_the_canonical_form_reads_back_as_the_same_spec():
    spec = parse_policy(
        {"detectors": {"email": {"replacement": "mask"}}, "regions": ["DE"], "allow": ["x@y.de"]}
    )

    canonical = spec.to_dict()

    assert parse_policy(canonical) == spec
    assert set(canonical["detectors"]) == set(DETECTORS)
    assert canonical["detectors"]["email"] == {"enabled": True, "replacement": "mask"}


def test_the_fingerprint_names_the_content_not_the_version_number():
    first = parse_policy({"version": 1, "regions": ["GB"]})
    renumbered = parse_policy({"version": 2, "regions": ["GB"]})
    changed = parse_policy({"version": 2, "regions": ["DE"]})

    assert first.fingerprint == renumbered.fingerprint
    assert first.fingerprint != changed.fingerprint


def test_specs_are_hashable_values():
    assert hash(parse_policy({"regions": ["GB"]})) == hash(parse_policy({"regions": ["GB"]}))
    assert parse_policy({"regions": ["GB"]}) != parse_policy({"regions": ["DE"]})


INVALID = {
    "not an object": ([], "a policy is a JSON object"),
    "unknown field": ({"detector": {}}, "unknown field 'detector'"),
    "version zero": ({"version": 0}, "version must be a whole number from 1"),
    "version as text": ({"version": "3"}, "version must be a whole number from 1"),
    "unknown detector": ({"detectors": {"passport": True}}, "unknown detector 'passport'"),
    "setting not an object": ({"detectors": {"phone": "on"}}, "a setting is true, false or an object"),
    "enabled not a boolean": ({"detectors": {"phone": {"enabled": 1}}}, "enabled must be true or false"),
    "unknown replacement": (
        {"detectors": {"phone": {"replacement": "blur"}}},
        "replacement must be one of redact, typed, mask, hash, remove",
    ),
    "unknown setting field": ({"detectors": {"phone": {"mode": "x"}}}, "unknown field 'mode'"),
    "unknown region": ({"regions": ["UK"]}, "unknown region 'UK'"),
    "region twice": ({"regions": ["GB", "gb"]}, "region 'gb' is listed twice"),
    "regions not a list": ({"regions": "GB"}, "regions must be a list"),
    "empty allowed value": ({"allow": [" "]}, "allowed value ' ' must be text"),
    "rule without a pattern": (
        {"custom_rules": [{"name": "x"}]},
        "custom rule 'x': pattern must be non-empty",
    ),
    "rule with a bad name": (
        {"custom_rules": [{"name": "Employee ID", "pattern": "x"}]},
        "name must be 1-40 lower-case letters",
    ),
    "two rules with one name": (
        {"custom_rules": [{"name": "x", "pattern": "a"}, {"name": "x", "pattern": "b"}]},
        "another rule has the same name",
    ),
    "rule matching empty text": (
        {"custom_rules": [{"name": "x", "pattern": "a*"}]},
        "the pattern matches empty text",
    ),
    "rule matching between characters": (
        {"custom_rules": [{"name": "x", "pattern": r"\b"}]},
        "the pattern matches empty text",
    ),
}


@pytest.mark.parametrize(("data", "problem"), INVALID.values(), ids=INVALID.keys())
def test_it_names_each_problem(data, problem):
    problems = validate_policy(data)

    assert any(problem in found for found in problems), problems


def test_every_problem_is_listed_at_once():
    problems = validate_policy(
        {"regions": ["XX"], "detectors": {"phone": {"replacement": "blur"}}, "extra": 1}
    )

    assert len(problems) == 3


def test_parse_refuses_invalid_data_with_every_problem():
    with pytest.raises(PolicyError) as raised:
        parse_policy({"regions": ["XX"], "allow": "x"})

    assert len(raised.value.problems) == 2
    assert "unknown region 'XX'" in str(raised.value)


RE2_REFUSALS = {
    "look-behind": r"(?<=user=)\w+",
    "look-ahead": r"\d+(?= USD)",
    "back-reference": r"(\w)\1",
    "possessive repetition": r"a++",
    "unbalanced bracket": r"[a-z",
    "repetition too large": r"a{2000}",
}


@pytest.mark.parametrize("pattern", RE2_REFUSALS.values(), ids=RE2_REFUSALS.keys())
def test_a_rule_re2_cannot_compile_is_refused_with_the_reason(pattern):
    problems = validate_policy({"custom_rules": [{"name": "mine", "pattern": pattern}]})

    assert len(problems) == 1
    assert problems[0].startswith("custom rule 'mine': RE2 cannot compile this pattern (")
    assert "no look-around or back-references" in problems[0]


def test_a_rule_re2_compiles_is_accepted():
    assert (
        validate_policy({"custom_rules": [{"name": "mine", "pattern": r"(?i)\bapi[_-]?key=[a-z0-9]{16,}"}]})
        == []
    )


def test_rules_too_large_together_for_one_re2_set_are_refused(monkeypatch):
    from processing.redaction.detectors import custom

    monkeypatch.setattr(custom, "MAX_SET_MEMORY", 4096)
    rules = [{"name": f"rule_{number}", "pattern": rf"\w{{1,200}}{number}"} for number in range(5)]

    problems = validate_policy({"custom_rules": rules})

    assert problems == [
        "the custom rules together are more than RE2 can compile within its memory budget; "
        "simplify the largest patterns or remove some rules"
    ]
