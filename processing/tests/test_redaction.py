"""redact(): every PII format the service must catch, and everything it must leave alone."""

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processing.redaction import REDACTED, luhn_valid, redact

PHONE_NUMBERS = [
    # The formats of the service this one replaces.
    "555-0199",
    "555-1234",
    "(555) 123-4567",
    "555.123.4567",
    "5551234567",
    "+1-555-123-4567",
    "+44 20 7946 0958",
    # More North American spellings.
    "555-123-4567",
    "555 123 4567",
    "1-555-123-4567",
    "1 (555) 123-4567",
    "1.555.123.4567",
    "+1 (555) 123-4567",
    "+15551234567",
    # International numbers, with + or an international prefix.
    "+442079460958",
    "+44 (0)20 7946 0958",
    "+33 1 23 45 67 89",
    "+49 30 1234567",
    "+91 98765 43210",
    "+86 138 0013 8000",
    "+81 3-1234-5678",
    "+61 2 9876 5432",
    "+55 11 91234-5678",
    "011 44 20 7946 0958",
    "0044 20 7946 0958",
    "00 33 1 23 45 67 89",
]

EMAILS = ["john.doe@example.com", "a+tag@mail.co.uk", "ops_team-1@sub.domain.io", "X@Y.ORG"]
CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "5500 0000 0000 0004",
    "3782 822463 10005",
    "378282246310005",
    "6011000990139424",
    "4222222222222",
]
SSNS = ["123-45-6789", "078-05-1120"]


@pytest.mark.parametrize("pii", PHONE_NUMBERS + EMAILS + CARDS + SSNS)
def test_it_redacts_pii_inside_a_sentence(pii):
    assert redact(f"User {pii} accessed the system") == f"User {REDACTED} accessed the system"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("User 555-0199 accessed the system", "User [REDACTED] accessed the system"),
        ("Alert: System status check for 555-1234", "Alert: System status check for [REDACTED]"),
        ("call (555) 123-4567.", "call [REDACTED]."),
        ("phone:555-123-4567, fax:555-123-4568", "phone:[REDACTED], fax:[REDACTED]"),
        ("tel:+15551234567;ext=12 ok", "tel:[REDACTED] ok"),
        ("<jane@example.org>", "<[REDACTED]>"),
        ("card=4111111111111111 ok", "card=[REDACTED] ok"),
        ('{"phone": "555-0199", "ssn": "123-45-6789"}', '{"phone": "[REDACTED]", "ssn": "[REDACTED]"}'),
        ("line one 555-0199\nline two a@b.io", "line one [REDACTED]\nline two [REDACTED]"),
        ("", ""),
    ],
)
def test_it_redacts_only_the_pii_and_keeps_the_rest_verbatim(text, expected):
    assert redact(text) == expected


LEFT_ALONE = [
    "2024-01-15",
    "15/01/2024",
    "01/15/2024",
    "2024.01.15",
    "12:30:45",
    "12:30:45.123",
    "2024-01-15T12:30:45+01:00",
    "2024-01-15T12:30:45.123456Z",
    "0049-01-01",
    "0119-01-01 2000-01-01",
    "2024-01-15 12:30:45,123 INFO started",
    "Jan 15 12:30:45 host sshd[4821]: accepted",
    "192.168.1.100",
    "10.0.0.1",
    "10.10.10.255:8080",
    "2001:db8::1",
    "::1",
    "1.2.3",
    "v10.4.12",
    "release 2.14.0-rc.1",
    "550e8400-e29b-41d4-a716-446655440000",
    "123e4567-e89b-12d3-a456-426614174000",
    "$1,234.56",
    "$12,345,678.90",
    "EUR 1.234,56",
    "order 12345",
    "id 4821",
    "id 123456",
    "/api/v1/orders/12345",
    "port 8080",
    "HTTP/1.1 200",
    "pid=31337 uid=1000",
    "took 555.1234 ms",
    "ratio 1.5551234567",
    "epoch 1705312345",
    "epoch ms 1705312345678",
    "4111 1111 1111 1112",
    "ids 12345 67890 12345",
    "sha 4f2a9c1e",
    "GMT+0100",
    "retry +1234",
    "1024x768",
    "user@localhost",
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_it_leaves_non_pii_untouched(text):
    assert redact(text) == text


def test_a_realistic_log_line_keeps_everything_but_the_pii():
    line = (
        "2024-01-15T12:30:45.123Z INFO [req 550e8400-e29b-41d4-a716-446655440000] v10.4.12 "
        "10.0.0.1 order 12345 total $1,234.56 customer jane@example.com phone (555) 123-4567"
    )

    assert redact(line) == (
        "2024-01-15T12:30:45.123Z INFO [req 550e8400-e29b-41d4-a716-446655440000] v10.4.12 "
        "10.0.0.1 order 12345 total $1,234.56 customer [REDACTED] phone [REDACTED]"
    )


def test_luhn_accepts_valid_numbers_and_rejects_a_changed_digit():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


# -- properties -------------------------------------------------------------------

# Surrounding text: words and punctuation with no digits and no "@", so it can hold
# no PII of its own and its exact survival can be asserted.
SAFE_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéßж,;:!?'\"()[]{}<>/_=#*&%"
safe_words = st.text(alphabet=SAFE_CHARACTERS, min_size=1, max_size=12)
safe_text = st.lists(safe_words, max_size=6).map(" ".join)


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
    return draw(st.sampled_from([number, grouped, grouped.replace(" ", "-")]))


@st.composite
def ssns(draw) -> str:
    area = draw(st.integers(1, 899).filter(lambda value: value != 666))
    group = draw(st.integers(1, 99))
    serial = draw(st.integers(1, 9999))
    return f"{area:03d}-{group:02d}-{serial:04d}"


emails = st.emails()

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
    "hyphenated digits": "1-" * 50_000 + "x",
    "spaced digits": "1 " * 50_000 + "x",
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("text", CRAFTED.values(), ids=CRAFTED.keys())
def test_crafted_text_is_handled_in_linear_time(text):
    # A quadratic pattern takes hours on these; the timeout is the assertion.
    assert redact(text) == text
