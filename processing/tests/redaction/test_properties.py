"""Properties over generated text: generated PII never survives, text without any comes back unchanged,
any text gives well-formed spans, and crafted text costs linear time."""

import itertools

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from processing.redaction import REDACTED, compile_policy, luhn_valid, parse_policy, redact
from processing.redaction.context import CONTEXT_WORDS, words

# Surrounding text: words and punctuation with no digits and no "@", so it can hold
# no PII of its own and its exact survival can be asserted.
SAFE_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéßж,;:!?'\"()[]{}<>/_=#*&%"


def _without_context_words(text: str) -> bool:
    # A word such as "id" or "order" just before an ambiguous number (555-0199) says it is
    # not a phone number, by design (test_real_log_lines.py); generated text must not say so.
    return not any(word in CONTEXT_WORDS for word in words(text))


safe_words = st.text(alphabet=SAFE_CHARACTERS, min_size=1, max_size=12)
safe_text = st.lists(safe_words, max_size=6).map(" ".join).filter(_without_context_words)


def _digits(count: int):
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


@st.composite
def north_american_numbers(draw) -> str:
    area = draw(st.sampled_from("23456789")) + draw(_digits(2))
    exchange = draw(_digits(3))
    line = draw(_digits(4))
    short_exchange = draw(st.sampled_from("23456789")) + draw(_digits(2))
    return draw(
        st.sampled_from(
            [
                f"{short_exchange}-{line}",
                f"({area}) {exchange}-{line}",
                f"{area}.{exchange}.{line}",
                f"{area}-{exchange}-{line}",
                f"{area} {exchange} {line}",
                f"{area}{exchange}{line}",
                f"1-{area}-{exchange}-{line}",
                f"+1-{area}-{exchange}-{line}",
                f"+1 ({area}) {exchange}-{line}",
                f"+1{area}{exchange}{line}",
            ]
        )
    )


_REGIONS_WITH_EXAMPLES = sorted(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE) is not None
)


@st.composite
def international_numbers(draw) -> str:
    """A real country's mobile number (its example, last digits varied) as written internationally."""
    region = draw(st.sampled_from(_REGIONS_WITH_EXAMPLES))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    varied = national[:-3] + draw(_digits(3)) if len(national) > 5 else national
    number = phonenumbers.parse(f"+{example.country_code}{varied}")
    if not phonenumbers.is_possible_number(number):
        number = example
    style = draw(
        st.sampled_from([phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164])
    )
    return phonenumbers.format_number(number, style)


@st.composite
def card_numbers(draw) -> str:
    prefix = draw(st.sampled_from(["4", "51", "55", "2221", "34", "37", "6011", "65", "36"]))
    length = (
        15 if prefix in ("34", "37") else draw(st.sampled_from([16, 16, 13, 19] if prefix == "4" else [16]))
    )
    body = prefix + draw(_digits(length - len(prefix) - 1))
    check = next(str(d) for d in range(10) if luhn_valid(body + str(d)))
    number = body + check
    if length == 15:
        grouped = f"{number[:4]} {number[4:10]} {number[10:]}"
    else:
        grouped = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return draw(st.sampled_from([number, grouped, grouped.replace(" ", "-"), grouped.replace(" ", ".")]))


@st.composite
def ssns(draw) -> str:
    area = draw(st.integers(1, 899).filter(lambda value: value != 666))
    group = draw(st.integers(1, 99))
    serial = draw(st.integers(1, 9999))
    return f"{area:03d}-{group:02d}-{serial:04d}"


# Local parts as log lines carry them: letters of any script, digits and the symbols the
# detector takes (processing/redaction/detectors/email.py says why = / ? & | { } ` % ' are
# delimiters in logs, not parts of an address).
LOCAL_PART_CHARACTERS = "abcxyzABCXYZ0123456789._-+!#$*^~éüñßжя用户"
local_parts = st.text(alphabet=LOCAL_PART_CHARACTERS, min_size=1, max_size=24).filter(
    lambda local: not local.startswith(".")
)
unicode_domains = st.tuples(
    st.text(alphabet="abcdeéüжя例子用户-", min_size=1, max_size=12).filter(
        lambda label: label.strip("-") == label
    ),
    st.sampled_from(["es", "de", "рф", "广告", "com", "xn--p1ai"]),
).map(".".join)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}", local_parts, st.one_of(domains(), unicode_domains)
).filter(
    _without_context_words  # a top-level domain such as ".PID" before 555-0199 would say "an id"
)

any_pii = st.one_of(north_american_numbers(), international_numbers(), card_numbers(), ssns(), emails)

property_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@property_settings
@given(before=safe_text, pii=any_pii, after=safe_text)
def test_generated_pii_in_random_text_never_survives(before, pii, after):
    text = f"{before} {pii} {after}"

    redacted = redact(text)

    assert pii not in redacted
    assert redacted == f"{before} {REDACTED} {after}"


@property_settings
@given(
    pieces=st.lists(any_pii, min_size=2, max_size=4), glue=st.text(alphabet="abcdgé", min_size=1, max_size=8)
)
def test_several_pii_in_one_text_all_go(pieces, glue):
    # The glue avoids "x" and "ext": after a phone number they start its extension.
    text = f" {glue} ".join(pieces)

    redacted = redact(text)

    assert all(piece not in redacted for piece in pieces)
    assert redacted.count(REDACTED) == len(pieces)


harmless_tokens = st.one_of(
    safe_words,
    st.dates().map(lambda day: day.isoformat()),
    st.dates().map(lambda day: day.strftime("%d/%m/%Y")),
    st.times().map(lambda moment: moment.strftime("%H:%M:%S")),
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 999)).map(
        lambda parts: "v{}.{}.{}".format(*parts)
    ),
    st.uuids().map(str),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False).map(lambda price: f"${price:,}"),
    st.integers(1000, 999999).map(lambda value: f"order {value}"),
    st.integers(1000, 999999).map(lambda value: f"id={value}"),
    # Long numbers after the words that say what they are (the false positives).
    st.integers(10**6, 10**10).map(lambda value: f"order id {value}"),
    st.integers(10**6, 10**10).map(lambda value: f"bytes={value}"),
    st.tuples(st.integers(100, 999), st.integers(1000, 9999)).map(
        lambda parts: "build #{}-{}".format(*parts)
    ),
)


@property_settings
@given(
    tokens=st.lists(harmless_tokens, max_size=12), separator=st.sampled_from([" ", ", ", " | ", "\n", "\t"])
)
def test_text_without_pii_comes_back_unchanged(tokens, separator):
    text = separator.join(tokens)

    assert redact(text) == text


CRAFTED = {
    "local part without a domain": "a." * 50_000 + "@",
    "domain without a dot": "a@" + "a" * 100_000,
    "domain of hyphens": "a@" + "a-" * 50_000,
    "many at signs": "a@" * 50_000,
    "hyphenated digits": "1-" * 50_000 + "x",
    "spaced digits": "1 " * 50_000 + "x",
    "dotted digits": "1." * 50_000 + "x",
    "plus signs and digits": "+1 " * 50_000,
    "percent-encoded digits": "%31%2D" * 30_000,
    "IBAN starts": "DE89 " * 50_000,
    "parentheses and digits": "(1) " * 50_000,
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", CRAFTED.values(), ids=CRAFTED.keys())
def test_crafted_text_is_handled_in_linear_time(text):
    # A quadratic pattern takes hours on these; the timeout is the assertion.
    redact(text)


log_like_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789 +-.()/:_=@%#'\"xXextABCDEF\nGBDE"), st.characters(codec="utf-8")
    ),
    max_size=200,
)
everything_on = compile_policy(
    parse_policy({"detectors": {"ip": True}, "regions": ["US", "GB", "DE", "FR", "IT", "AU"]}), secret=b"s"
)


@property_settings
@given(text=log_like_text)
def test_any_text_gives_ordered_spans_inside_it_and_their_replacement(text):
    spans = everything_on.explain(text)

    assert all(0 <= span.start < span.end <= len(text) for span in spans)
    assert all(before.end <= after.start for before, after in itertools.pairwise(spans))
    rebuilt, position = [], 0
    for span in spans:
        rebuilt += [text[position : span.start], span.replacement]
        position = span.end
    assert everything_on.scrub(text).text == "".join([*rebuilt, text[position:]])
