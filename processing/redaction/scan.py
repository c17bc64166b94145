"""The one pass over a text: a single pattern finds every place worth a closer look.

Each alternative of the pattern marks where one kind of detector can start: a stretch of
digits with at least seven of them (phone numbers, cards, SSNs), an ``@`` (e-mail), two
capitals and two digits (IBAN), an IP-address shape (only when that detector is on).
Dates and dotted quads are matched too, and skipped, so the commonest digit stretches of
a log line (timestamps, IP addresses) cost no Python at all when nothing is looked for in
them. The regular-expression engine does the scanning in C, and since every alternative
starts with a character of one small class (digits, ``+``, ``(``, ``@``, capitals), it
skips everything else (words, punctuation) without trying the alternatives there; Python
only runs for the places found, and a clean line costs one ``finditer`` and little more.

Every alternative is written so the scan stays linear on crafted text: possessive
repetition, starts only where a token starts, look-arounds of bounded length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from processing.redaction.detectors.email import email_at
from processing.redaction.detectors.iban import iban_at
from processing.redaction.detectors.ip import ipv4_at, ipv6_at
from processing.redaction.detectors.numbers import NumberConfig, numbers_in
from processing.redaction.spans import Hit

# The pattern is one character class (every character a detector can start with), then
# alternatives that each first check which character that was ("(?<=[0-9])") and what
# stood before it ("(?<!X.)"). The class lets the engine skip words and punctuation
# without trying anything there; digits come first because they are the commonest start.
#
# Not glued: no letter or digit just before the first character (an "_"
# is a boundary: card_4111..., cust_phone_415...).
_NOT_GLUED = r"(?<![^\W_].)"
# ... nor the tail of a dashed or dotted token (550e8400-...-446655440000, v1.5551234567).
_NOT_A_TAIL = r"(?<![^\W_][.\-].)"
# What follows a stretch's first group: single separators (space, dot, dash, slash,
# parentheses around an area code, and the "+" that stands for a space in form bodies:
# phone=555+123+4567) each followed by more digits.
_MORE_GROUPS = r"(?:(?:[\ .\-/+]|\ ?\(|\)[\ .\-]?)[0-9]++)*+"
_DATE = (
    r"(?P<date>"
    r"[0-9]{3}[-./][0-9]{2}[-./][0-9]{2}"  # 2024-01-15
    r"|[0-9]?[-./][0-9]{1,2}[-./][0-9]{4}"  # 15/01/2024, 01-15-2024
    r")(?![0-9]|[.\-/][0-9])"
)
_QUAD = r"(?<![0-9]\..)(?P<quad>[0-9]{0,2}(?:\.[0-9]{1,3}){3})(?![0-9]|\.[0-9])"
_NUMBER = (
    _NOT_A_TAIL + r"(?=(?:[\ ().\-/+]{0,2}[0-9]){6})"  # seven digits or more, this one included
    r"(?P<number>[0-9]*+" + _MORE_GROUPS + r")"
)
_SIGNED_NUMBER = (
    r"(?<=[+\uff0b(])" + _NOT_GLUED + _NOT_A_TAIL + r"(?=\(?(?:[\ ().\-/+]{0,2}[0-9]){7})"
    r"(?P<signed>\(?[0-9]++" + _MORE_GROUPS + r")"
)
_IBAN = r"(?<=[A-Z])" + _NOT_GLUED + r"(?P<iban>[A-Z][0-9]{2})(?=\ ?[A-Z0-9]{4})"
_EMAIL = r"(?<=@)(?P<at>)"
_IPV6 = r"(?<=[0-9A-Fa-f:])(?<![\w:.].)(?=[0-9A-Fa-f.]{0,3}:)(?P<ipv6>[0-9A-Fa-f:.]{1,44}+)(?![\w:])"


@dataclass(frozen=True)
class ScanConfig:
    numbers: NumberConfig | None
    email: bool
    iban: bool
    ip: bool


def scan_pattern(config: ScanConfig) -> re.Pattern[str] | None:
    """The pattern for the detectors ``config`` enables; None when it enables none."""
    first = ""
    alternatives = []
    if config.numbers or config.ip:
        first += "0-9"
        digit_starts = [_DATE, _QUAD] + ([_NUMBER] if config.numbers else [])
        alternatives.append(r"(?<=[0-9])" + _NOT_GLUED + f"(?:{'|'.join(digit_starts)})")
    if config.iban:
        first += "A-Z"
        alternatives.append(_IBAN)
    if config.numbers:
        first += "+\\uff0b("
        alternatives.append(_SIGNED_NUMBER)
    if config.email:
        first += "@"
        alternatives.append(_EMAIL)
    if config.ip:
        first += "a-fA-F:"
        alternatives.append(_IPV6)
    if not alternatives:
        return None
    return re.compile(f"[{first}](?:{'|'.join(alternatives)})")


class Scanner:
    """Finds every built-in detector's hits in a text, for one policy's detectors."""

    def __init__(self, config: ScanConfig) -> None:
        self.config = config
        self.pattern = scan_pattern(config)

    def hits(self, text: str, leading: str = "") -> list[Hit]:
        hits: list[Hit] = []
        if self.pattern is None:
            return hits
        numbers = self.config.numbers
        ip = self.config.ip
        resume = 0
        for match in self.pattern.finditer(text):
            kind = match.lastgroup
            if kind == "date":
                continue
            start, end = match.span()
            if start < resume:
                continue  # inside an IBAN already read
            if kind == "number" or kind == "signed":
                numbers_in(text, start, end, numbers, leading, hits)
            elif kind == "at":
                email_at(text, start, hits)
            elif kind == "quad":
                if ip:
                    ipv4_at(text, start, end, hits)
            elif kind == "iban":
                resume = iban_at(text, start, hits)
            else:
                while end > start and text[end - 1] == ".":
                    end -= 1
                ipv6_at(text, start, end, hits)
        return hits
