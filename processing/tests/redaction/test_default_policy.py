"""redact() under the default policy: every PII format the service must catch, and everything it must leave alone.

These are the original service's cases, kept as they were; test_real_log_lines.py holds the
misses and false positives found on realistic log lines.
"""

import pytest

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
IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "DE89370400440532013000",
    "GB29NWBK60161331926819",
    "GB29 NWBK 6016 1331 9268 19",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91ABNA0417164300",
    "CH9300762011623852957",
]


@pytest.mark.parametrize("pii", PHONE_NUMBERS + EMAILS + CARDS + SSNS + IBANS)
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
    # IBAN-shaped but not IBANs: a changed check digit, a country without IBANs, the wrong length.
    "DE88 3704 0044 0532 0130 00",
    "US64 SVBK US6S 3300 9673 86",
    "DE89 3704 0044 0532 0130",
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
