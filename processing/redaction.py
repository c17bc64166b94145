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
import string
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
        (?:
            [2-9]\d{2}[-.\ ]\d{3}[-.\ ]\d{4}    # 555-123-4567, 555.123.4567, 555 123 4567
        |   [2-9]\d{9}                        # 5551234567
        |   \([2-9]\d{2}\)\ ?\d{3}[-.\ ]?\d{4}  # (555) 123-4567
        )
    |
        [2-9]\d{2}-\d{4}                    # seven-digit local number: 555-0199
    )
    (?![\w\-/]|\.\d)                    # nor followed by more of a number (decimal, IP, path)
    """,
    re.VERBOSE,
)
_IDD_00_HINT = re.compile(r"(?<!\d)00[\s\-]?[1-9]")
_INTERNATIONAL_START = re.compile(r"[+\uff0b](?=[ (]*\d)|(?<![\w.,:/$\-])(?P<idd>011|00)(?=[ \-]?\(?[1-9])")
# Digits and the characters numbers are formatted with, at most a long number's worth.
_DATE = re.compile(r"(?<!\d)(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})(?!\d)")
_NUMBER_STRETCH = re.compile(r"(?:[+\uff0b]|011|00)?[\d \t().\-/]{0,32}")
_PLUS_SIGNS = ("+", "\uff0b")

# E-mail addresses are found from each "@" outwards by plain scanning, not by one
# big pattern: patterns for them backtrack quadratically on crafted text.
_LOCAL_PART_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-.")
_DOMAIN_CHARS = frozenset(string.ascii_letters + string.digits + "-.")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL_DOMAIN = re.compile(r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])")
MAX_DOMAIN_LENGTH = 255

# Runs of digit groups joined by one space or dash; card candidates are windows of these.
# Possessive and anchored at the start of a run, so crafted digit soup stays linear.
_DIGIT_RUN = re.compile(r"(?<![\w.,])(?<!\d[ -])\d++(?:[ -]\d++)*+(?!\w)")
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
    international = [*_matched_international_spans(text, HOME_REGION), *_anchored_international_spans(text)]
    if _IDD_00_HINT.search(text):
        international += _matched_international_spans(text, IDD_00_REGION)
    # Dates are never (part of) phone numbers: "0049-01-01" is a date, not +49 01.
    dates = [match.span() for match in _DATE.finditer(text)]
    for start, end in international:
        if not any(start < date_end and date_start < end for date_start, date_end in dates):
            yield start, end
    for match in _NANP.finditer(text):
        yield match.span()


def _matched_international_spans(text: str, region: str) -> Iterator[Span]:
    """libphonenumber's matcher over the whole text, keeping numbers written with their country code."""
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
        raw = match.raw_string
        if raw.startswith(_PLUS_SIGNS):
            yield match.start, match.end
        elif (
            _INTERNATIONAL_START.match(text, match.start)
            and not _DATE.search(raw)
            and _dialled_internationally(raw, region)
        ):
            # An international prefix only counts where a number can start: not "$1.00 2000-01-01".
            yield match.start, match.end


def _anchored_international_spans(text: str) -> Iterator[Span]:
    """What the matcher gives up on: an international number next to an unbalanced bracket or
    run together with more digits ("( +247 40123", "+44 20 7946 0958 1234").

    From each "+" (or international prefix) take the longest stretch of number-like
    characters whose prefix ending after a digit group is a possible number.
    """
    for start in _INTERNATIONAL_START.finditer(text):
        region = IDD_00_REGION if start.group("idd") == "00" else HOME_REGION
        stretch = _NUMBER_STRETCH.match(text, start.start())
        ends = [group.end() for group in _DIGIT_GROUP.finditer(stretch.group())]
        for end in reversed(ends):
            candidate = stretch.group()[:end]
            if not _DATE.search(candidate) and _possible_international(candidate, region):
                yield stretch.start(), stretch.start() + end
                break


def _possible_international(candidate: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(candidate, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return False
    international = number.country_code_source in (
        phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
        phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD,
    )
    return international and phonenumbers.is_possible_number(number)


def _dialled_internationally(raw: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(raw, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return False
    return number.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD


def email_spans(text: str) -> Iterator[Span]:
    at = text.find("@")
    while at != -1:
        start = at
        while start > 0 and text[start - 1] in _LOCAL_PART_CHARS:
            start -= 1
        while start < at and text[start] == ".":
            start += 1  # a local part cannot begin with a dot: "end. a@b.com"
        end = _domain_end(text, at + 1)
        if start < at and end is not None:
            yield start, end
        at = text.find("@", at + 1)


def _domain_end(text: str, start: int) -> int | None:
    """End of the longest valid domain (two labels or more, a real-looking TLD) from ``start``."""
    stop = start
    limit = min(len(text), start + MAX_DOMAIN_LENGTH)
    while stop < limit and text[stop] in _DOMAIN_CHARS:
        stop += 1
    end = None
    position, labels = start, 0
    while position < stop:
        label = _DOMAIN_LABEL.match(text, position, stop)
        if label is None:
            break
        labels += 1
        if labels >= 2 and _TOP_LEVEL_DOMAIN.fullmatch(label.group()):
            end = label.end()
        if label.end() >= stop or text[label.end()] != ".":
            break
        position = label.end() + 1
    return end


def card_spans(text: str) -> Iterator[Span]:
    """Luhn-valid 13-19 digit numbers, bare or grouped like a card (4-4-4-4, 4-6-5...)."""
    for run in _DIGIT_RUN.finditer(text):
        groups = [(group.start(), group.group()) for group in _DIGIT_GROUP.finditer(run.group())]
        for first, (start, digits) in enumerate(groups):
            if CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS and _card_number(digits):
                yield run.start() + start, run.start() + start + len(digits)
            if len(digits) != 4:
                continue  # grouped card numbers open with four digits
            sizes = [4]
            for next_start, next_digits in groups[first + 1 :]:
                digits += next_digits
                sizes.append(len(next_digits))
                if len(digits) > CARD_MAX_DIGITS:
                    break
                if _grouped_like_a_card(sizes) and _card_number(digits):
                    yield run.start() + start, run.start() + next_start + len(next_digits)


def _grouped_like_a_card(sizes: list[int]) -> bool:
    return (all(size == 4 for size in sizes[1:-1]) and 1 <= sizes[-1] <= 4) or sizes in (
        [4, 6, 5],
        [4, 6, 4],
    )  # American Express, Diners Club


def _card_number(digits: str) -> bool:
    return len(digits) >= CARD_MIN_DIGITS and digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits)


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
