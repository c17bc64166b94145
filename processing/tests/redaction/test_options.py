"""Each policy option on its own: detectors on and off, regions, replacements, allow-list, custom rules."""

import re

import pytest

from processing.redaction import compile_policy, parse_policy

SECRET = b"tenant-secret-acme"


def redactor(secret: bytes = SECRET, **policy):
    return compile_policy(parse_policy(policy), secret=secret)


ONE_OF_EACH = (
    "phone 555-0199 mail a@b.io card 4111 1111 1111 1111 ssn 123-45-6789 iban GB29NWBK60161331926819"
)
EXPECTED_EACH = {
    "phone": "555-0199",
    "email": "a@b.io",
    "card": "4111 1111 1111 1111",
    "ssn": "123-45-6789",
    "iban": "GB29NWBK60161331926819",
}


@pytest.mark.parametrize("detector", EXPECTED_EACH)
def test_a_detector_turned_off_finds_nothing_and_the_others_go_on(detector):
    scrubbed = redactor(detectors={detector: False}).scrub(ONE_OF_EACH)

    assert EXPECTED_EACH[detector] in scrubbed.text
    assert all(value not in scrubbed.text for name, value in EXPECTED_EACH.items() if name != detector)
    assert detector not in scrubbed.findings
    assert sum(scrubbed.findings.values()) == 4


def test_every_default_detector_counts_its_findings():
    assert redactor().scrub(ONE_OF_EACH).findings == {name: 1 for name in EXPECTED_EACH}


def test_a_policy_with_every_detector_off_changes_nothing():
    off = dict.fromkeys(["phone", "email", "card", "ssn", "iban", "ip"], False)

    assert redactor(detectors=off).scrub(ONE_OF_EACH).text == ONE_OF_EACH


IP_ADDRESSES = [
    "203.0.113.7",
    "10.0.0.1",
    "2001:db8::1",
    "::1",
    "fe80::1ff:fe23:4567:890a",
    "::ffff:192.0.2.1",
]


@pytest.mark.parametrize("address", IP_ADDRESSES)
def test_ip_addresses_are_redacted_only_when_the_policy_turns_them_on(address):
    text = f"client {address} connected"

    assert redactor().scrub(text).text == text
    scrubbed = redactor(detectors={"ip": True}).scrub(text)
    assert scrubbed.text == "client [REDACTED] connected"
    assert scrubbed.findings == {"ip": 1}


@pytest.mark.parametrize(
    "text", ["at 12:30:45 ok", "mac aa:bb:cc:dd:ee:ff", "v1.2.3", "999.1.1.1", "cafe:babe"]
)
def test_the_ip_detector_leaves_times_macs_and_versions(text):
    assert redactor(detectors={"ip": True}).scrub(text).text == text


def test_without_a_north_american_region_only_international_numbers_are_phone_numbers():
    gb_only = redactor(regions=["GB"])

    assert gb_only.scrub("call 555-0199 or 555-123-4567").text == "call 555-0199 or 555-123-4567"
    assert gb_only.scrub("call +1 555-123-4567 or 020 7946 0958").text == "call [REDACTED] or [REDACTED]"


def test_a_region_with_its_own_international_prefix_reads_it():
    # Australia dials abroad with 0011.
    assert redactor(regions=["AU"]).scrub("call 0011 44 20 7946 0958").text == "call [REDACTED]"


REPLACEMENTS = {
    "redact": "call [REDACTED] now",
    "typed": "call [PHONE] now",
    "mask": "call (***) ***-4567 now",
    "remove": "call  now",
}


@pytest.mark.parametrize(("method", "expected"), REPLACEMENTS.items())
def test_each_replacement_method(method, expected):
    scrubbed = redactor(detectors={"phone": {"replacement": method}}).scrub("call (555) 123-4567 now")

    assert scrubbed.text == expected
    assert scrubbed.findings == {"phone": 1}


def test_typed_replacements_name_the_detector():
    typed = {name: {"replacement": "typed"} for name in EXPECTED_EACH}

    assert redactor(detectors=typed).scrub(ONE_OF_EACH).text == (
        "phone [PHONE] mail [EMAIL] card [CARD] ssn [SSN] iban [IBAN]"
    )


def test_mask_keeps_the_last_four_letters_or_digits_and_the_separators():
    masked = {name: {"replacement": "mask"} for name in EXPECTED_EACH}

    assert redactor(detectors=masked).scrub(ONE_OF_EACH).text == (
        # a@b.io has four letters: masked whole, or "the last four" would be all of it.
        "phone ***-0199 mail *@*.** card **** **** **** 1111 ssn ***-**-6789 iban ******************6819"
    )


HASH_TOKEN = re.compile(r"\[PHONE:[0-9a-f]{16}\]")


def hashed(secret: bytes):
    return redactor(
        secret=secret, detectors={"phone": {"replacement": "hash"}, "email": {"replacement": "hash"}}
    )


def test_hash_tokens_are_stable_for_a_tenant():
    first = hashed(SECRET).scrub("from +1 415 555 2671").text
    again = hashed(SECRET).scrub("from +1 415 555 2671").text

    assert HASH_TOKEN.fullmatch(first.removeprefix("from "))
    assert first == again


def test_hash_tokens_equal_one_value_however_it_is_written():
    tokens = [
        hashed(SECRET).scrub(text).text
        for text in ("+1 415 555 2671", "(415) 555-2671", "415.555.2671", "1-415-555-2671", "4155552671")
    ]

    assert len(set(tokens)) == 1


def test_hash_tokens_of_e_mail_addresses_ignore_case():
    assert hashed(SECRET).scrub("Alice@Example.COM").text == hashed(SECRET).scrub("alice@example.com").text


def test_hash_tokens_differ_between_tenants_and_between_values():
    acme = hashed(b"secret-of-acme").scrub("+1 415 555 2671").text
    beta = hashed(b"secret-of-beta").scrub("+1 415 555 2671").text
    other_number = hashed(b"secret-of-acme").scrub("+1 415 555 2672").text

    assert acme != beta
    assert acme != other_number


def test_hash_tokens_need_the_tenants_secret():
    with pytest.raises(ValueError, match="needs the tenant's secret"):
        compile_policy(parse_policy({"detectors": {"phone": {"replacement": "hash"}}}), secret=b"")


def test_a_secret_is_not_needed_when_nothing_is_hashed():
    assert compile_policy(parse_policy({}), secret=b"").scrub("555-0199").text == "[REDACTED]"


def test_allowed_values_stay_however_they_are_written_and_are_not_counted():
    allowing = redactor(allow=["+1 800 555 0100", "Support@Acme.example"])

    scrubbed = allowing.scrub(
        "call 1-800-555-0100 or (800) 555-0100, mail support@acme.example, not 555-0199 or bob@acme.example"
    )

    assert scrubbed.text == (
        "call 1-800-555-0100 or (800) 555-0100, mail support@acme.example, not [REDACTED] or [REDACTED]"
    )
    assert scrubbed.findings == {"phone": 1, "email": 1}


def test_an_allowed_custom_rule_value_stays():
    allowing = redactor(allow=["EMP-000001"], custom_rules=[{"name": "employee_id", "pattern": r"EMP-\d{6}"}])

    assert allowing.scrub("EMP-000001 and EMP-123456").text == "EMP-000001 and [REDACTED]"


def test_custom_rules_replace_their_matches_and_count_them_by_name():
    custom = redactor(
        custom_rules=[
            {"name": "employee_id", "pattern": r"\bEMP-\d{6}\b", "replacement": "typed"},
            {"name": "api_key", "pattern": r"(?i)api[_-]?key=[a-z0-9]{16,}"},
        ]
    )

    scrubbed = custom.scrub("EMP-123456 used API_KEY=abcdef0123456789abcd and EMP-654321")

    assert scrubbed.text == "[EMPLOYEE_ID] used [REDACTED] and [EMPLOYEE_ID]"
    assert scrubbed.findings == {"custom:employee_id": 2, "custom:api_key": 1}


def test_custom_rules_hash_with_the_tenants_secret():
    rule = [{"name": "account", "pattern": r"ACCT\d{8}", "replacement": "hash"}]
    acme = redactor(secret=b"acme", custom_rules=rule).scrub("ACCT12345678").text
    beta = redactor(secret=b"beta", custom_rules=rule).scrub("ACCT12345678").text

    assert re.fullmatch(r"\[ACCOUNT:[0-9a-f]{16}\]", acme)
    assert acme != beta


def test_a_custom_rule_overlapping_a_detector_leaves_nothing_behind():
    custom = redactor(custom_rules=[{"name": "ticket", "pattern": r"T-\d+-\d+"}])

    scrubbed = custom.scrub("see T-555-0199 please")

    assert scrubbed.text == "see [REDACTED] please"
    assert sum(scrubbed.findings.values()) == 1


def test_custom_rules_see_percent_encoded_text_decoded():
    custom = redactor(custom_rules=[{"name": "employee_id", "pattern": r"EMP-\d{6}"}])

    assert custom.scrub("/staff?id=EMP%2D123456&x=1").text == "/staff?id=[REDACTED]&x=1"


def test_custom_rules_on_text_with_a_lone_surrogate():
    custom = redactor(custom_rules=[{"name": "employee_id", "pattern": r"EMP-\d{6}"}])

    assert custom.scrub("\ud800 EMP-123456").text == "\ud800 [REDACTED]"


def test_custom_rules_still_run_when_no_prefilter_set_can_be_built(monkeypatch):
    from processing.redaction.detectors import custom

    spec = parse_policy({"custom_rules": [{"name": "rule_0", "pattern": r"\w{1,200}0"}]})
    monkeypatch.setattr(custom, "MAX_SET_MEMORY", 4096)

    scrubbed = compile_policy(spec, secret=SECRET).scrub("abc0 def")

    assert scrubbed.findings == {"custom:rule_0": 1}
