"""PII redaction: phone numbers, e-mail addresses, card numbers and US SSNs.

``redact(text)`` is a pure function. Every detector reports spans on the original
text; overlapping spans are merged and each becomes ``[REDACTED]``, so the order
of the detectors cannot leave half a number behind.

Phone numbers, the main job:
- international numbers (``+44 20 7946 0958``, ``011 44 ...``, ``0044 ...``) are
  found by libphonenumber (``phonenumbers``), which knows every country's
  lengths. ``POSSIBLE`` leniency, because logs are full of fictional numbers
  (``+1-555-...``) that are not *valid* yet are exactly what must go;
- national numbers are read as North American (the region of the service this
  one replaces): ``(555) 123-4567``, ``555.123.4567``, ``555-123-4567``,
  ``5551234567``, ``1-555-123-4567`` and the seven-digit ``555-0199``. These use
  a strict pattern (area code and exchange starting 2-9, dash for the short form)
  rather than the library, which accepts far more digit runs than a log can
  afford: IP addresses, epoch timestamps, decimals.

What is deliberately left alone (and tested): dates, times, IP addresses,
versions, UUIDs, prices and plain ids. Card numbers must pass Luhn and start like
a payment card (2-6), so millisecond timestamps and long ids survive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

REDACTED = "[REDACTED]"

# National numbers are parsed as if dialled from here.
HOME_REGION = "US"
# A region whose international prefix is 00, to read "0044 20 ..." forms.
IDD_00_REGION = "DE"

Span = tuple[int, int]

_NANP = re.compile(
    r"""
    (?<![\w+\-./])                      # not glued to a word, a longer number, a version or a path
    (?:
        (?:1(?:[-\ ]|\.(?=\d{3}\.)))?    # optional country code 1 (not a decimal: 1.5551234567)
        (?:\([2-9]\d{2}\)\ ?|[2-9]\d{2}[-.\ ]?)   # area code
        \d{3}[-.\ ]?\d{4}               # exchange and line
    |
        [2-9]\d{2}-\d{4}                # seven-digit local number: 555-0199
    )
    (?![\w\-/]|\.\d)                    # nor followed by more of a number (decimal, IP, path)
    """,
    re.VERBOSE,
)
_IDD_00_HINT = re.compile(r"(?<!\d)00[\s\-]?[1-9]")
_PLUS_SIGNS = ("+", "\uff0b")

_EMAIL = re.compile(
    r"""
    [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*
    @
    (?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+
    [A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])
    """,
    re.VERBOSE,
)

# Runs of digit groups joined by one space or dash; card candidates are windows of these.
_DIGIT_RUN = re.compile(r"(?<![\w.,])\d+(?:[ -]\d+)*(?![\w])")
_DIGIT_GROUP = re.compile(r"\d+")
CARD_MIN_DIGITS, CARD_MAX_DIGITS = 13, 19
# Payment networks issue from 2 (Mastercard 2-series) to 6 (Discover, UnionPay, Maestro).
_CARD_FIRST_DIGITS = frozenset("23456")

_SSN = re.compile(r"(?<![\w\-.])\d{3}-\d{2}-\d{4}(?![\w\-]|\.\d)")


def redact(text: str) -> str:
    """Return ``text`` with every phone number, e-mail address, card number and SSN as ``[REDACTED]``."""
    spans = sorted([*phone_spans(text), *email_spans(text), *card_spans(text), *ssn_spans(text)])
    if not spans:
        return text
    pieces: list[str] = []
    position = 0
    for start, end in _merge(spans):
        pieces.append(text[position:start])
        pieces.append(REDACTED)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def phone_spans(text: str) -> Iterator[Span]:
    yield from _international_phone_spans(text, HOME_REGION)
    if _IDD_00_HINT.search(text):
        yield from _international_phone_spans(text, IDD_00_REGION)
    for match in _NANP.finditer(text):
        yield match.span()


def _international_phone_spans(text: str, region: str) -> Iterator[Span]:
    """Numbers written with their country code: ``+CC ...`` or the region's international prefix."""
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
        raw = match.raw_string
        if raw.startswith(_PLUS_SIGNS) or _dialled_internationally(raw, region):
            yield match.start, match.end


def _dialled_internationally(raw: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(raw, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return False
    return number.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD


def email_spans(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        yield match.span()


def card_spans(text: str) -> Iterator[Span]:
    """Luhn-valid 13-19 digit numbers, bare or grouped like a card (4-4-4-4, 4-6-5...)."""
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_DIGIT_GROUP.finditer(run.group()))
        for first in range(len(groups)):
            for last in range(first, len(groups)):
                window = groups[first : last + 1]
                digits = "".join(group.group() for group in window)
                if len(digits) > CARD_MAX_DIGITS:
                    break
                if _looks_like_card(window, digits):
                    yield run.start() + window[0].start(), run.start() + window[-1].end()


def _looks_like_card(window: list[re.Match[str]], digits: str) -> bool:
    if len(digits) < CARD_MIN_DIGITS or digits[0] not in _CARD_FIRST_DIGITS:
        return False
    sizes = [len(group.group()) for group in window]
    grouped_like_a_card = (
        len(sizes) == 1
        or (sizes[0] == 4 and all(size == 4 for size in sizes[1:-1]) and 1 <= sizes[-1] <= 4)
        or sizes in ([4, 6, 5], [4, 6, 4])  # American Express, Diners Club
    )
    return grouped_like_a_card and luhn_valid(digits)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def ssn_spans(text: str) -> Iterator[Span]:
    for match in _SSN.finditer(text):
        yield match.span()


def _merge(spans: list[Span]) -> Iterator[Span]:
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start <= end:
            end = max(end, next_end)
        else:
            yield start, end
            start, end = next_start, next_end
    yield start, end
