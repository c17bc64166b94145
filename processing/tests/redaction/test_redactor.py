"""The compiled Redactor: findings, explained spans, attribute values, the compile cache."""

import pytest

from processing.redaction import (
    DEFAULT_POLICY,
    Redactor,
    Span,
    clear_cache,
    compile_policy,
    default_redactor,
    merge_findings,
    parse_policy,
    redact,
)


def test_scrub_returns_the_text_and_counts_per_detector_never_values():
    scrubbed = default_redactor().scrub("a@b.io and c@d.io called 555-0199")

    assert scrubbed.text == "[REDACTED] and [REDACTED] called [REDACTED]"
    assert scrubbed.findings == {"email": 2, "phone": 1}


def test_clean_text_has_no_findings():
    assert default_redactor().scrub("nothing here 12:30:45").findings == {}
    assert default_redactor().scrub("").text == ""


def test_redact_is_the_default_policys_scrub():
    text = "mail a@b.io, call +44 20 7946 0958"

    assert redact(text) == compile_policy(DEFAULT_POLICY, secret=b"").scrub(text).text


def test_explain_gives_each_span_with_its_detector_and_replacement():
    typed = compile_policy(parse_policy({"detectors": {"email": {"replacement": "typed"}}}), secret=b"")
    text = "from a@b.io card 4111111111111111"

    spans = typed.explain(text)

    assert spans == [
        Span(5, 11, "email", "[EMAIL]"),
        Span(17, 33, "card", "[REDACTED]"),
    ]
    assert [text[span.start : span.end] for span in spans] == ["a@b.io", "4111111111111111"]


def test_explained_spans_of_percent_encoded_values_cover_the_encoded_text():
    text = "/u?email=alice%40example.com&phone=%2B14155552671"

    spans = default_redactor().explain(text)

    assert [text[span.start : span.end] for span in spans] == ["alice%40example.com", "%2B14155552671"]
    assert [span.detector for span in spans] == ["email", "phone"]


def test_percent_encoded_bytes_that_are_not_utf8_are_kept_as_they_were():
    assert redact("raw=%FF%FE%C3 call 555-0199") == "raw=%FF%FE%C3 call [REDACTED]"


def test_a_masked_percent_encoded_value_is_masked_decoded():
    masking = compile_policy(parse_policy({"detectors": {"email": {"replacement": "mask"}}}), secret=b"")

    assert masking.scrub("?to=alice%40example.com").text == "?to=*****@******e.com"


def test_overlapping_findings_are_one_span_named_by_the_longest():
    # The local part reads as a bare phone number too; one span, counted once, as the address.
    text = "sms gateway 5551234567@txt.example.com ok"

    scrubbed = default_redactor().scrub(text)

    assert scrubbed.text == "sms gateway [REDACTED] ok"
    assert scrubbed.findings == {"email": 1}
    assert default_redactor().explain(text) == [Span(12, 38, "email", "[REDACTED]")]


def test_attribute_values_are_scrubbed_like_the_text_and_findings_summed():
    attributes = {
        "user": {"email": "alice@example.com", "phones": ["555-0199", "+44 20 7946 0958"]},
        "order_id": "4829301756",
        "status": 200,
        "sampled": True,
        "note": None,
    }

    scrubbed = default_redactor().scrub_attributes(attributes)

    assert scrubbed.attributes == {
        "user": {"email": "[REDACTED]", "phones": ["[REDACTED]", "[REDACTED]"]},
        "order_id": "4829301756",
        "status": 200,
        "sampled": True,
        "note": None,
    }
    assert scrubbed.findings == {"email": 1, "phone": 2}
    assert attributes["user"]["email"] == "alice@example.com"  # the input is left as it was


def test_an_attribute_key_is_read_as_the_words_before_its_value():
    scrubbed = default_redactor().scrub_attributes({"phone": "4829301756", "order_id": "4829301756"})

    assert scrubbed.attributes == {"phone": "[REDACTED]", "order_id": "4829301756"}


def test_compiled_policies_are_cached_per_spec_and_secret():
    clear_cache()
    spec = parse_policy({"regions": ["GB"]})

    first = compile_policy(spec, secret=b"a")

    assert compile_policy(parse_policy({"regions": ["GB"]}), secret=b"a") is first
    assert compile_policy(spec, secret=b"b") is not first
    assert compile_policy(parse_policy({"regions": ["DE"]}), secret=b"a") is not first


def test_a_changed_policy_compiles_anew_even_under_the_same_version_number():
    before = compile_policy(parse_policy({"version": 3}), secret=b"a")
    after = compile_policy(parse_policy({"version": 3, "detectors": {"phone": False}}), secret=b"a")

    assert before.scrub("555-0199").text == "[REDACTED]"
    assert after.scrub("555-0199").text == "555-0199"


def test_the_redactor_carries_its_policy_version():
    assert compile_policy(parse_policy({"version": 12}), secret=b"").version == 12


def test_compile_policy_takes_a_parsed_spec():
    with pytest.raises(TypeError, match="parse_policy"):
        compile_policy({"regions": ["GB"]}, secret=b"")


def test_a_redactor_is_what_compile_policy_returns():
    assert isinstance(default_redactor(), Redactor)


def test_findings_of_a_text_and_its_attributes_add_up():
    redactor = default_redactor()
    text = redactor.scrub("call 555-0199")
    attributes = redactor.scrub_attributes({"phone": "555-0100", "email": "a@b.io"})

    assert merge_findings(text.findings, attributes.findings) == {"phone": 2, "email": 1}


def test_attributes_nested_beyond_the_depth_limit_are_replaced_whole():
    from processing.redaction.engine import MAX_ATTRIBUTE_DEPTH

    nested = {"phone": "555-0199"}
    for _ in range(MAX_ATTRIBUTE_DEPTH + 5):
        nested = {"inner": nested}

    scrubbed = default_redactor().scrub_attributes(nested)

    assert "555-0199" not in repr(scrubbed.attributes)
    assert "[REDACTED]" in repr(scrubbed.attributes)
