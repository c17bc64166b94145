"""Payment card numbers: 13-19 digits that pass Luhn and start like a card, bare or grouped.

Grouped as cards are printed (4-4-4-4, 4-4-4-4-3, American Express 4-6-5, Diners 4-6-4),
with spaces, dashes or dots, one kind throughout: ``4111 1111 1111 1111``,
``4111-1111-1111-1111``, ``4111.1111.1111.1111``, ``4111111111111111``. The first digits
must be an issuer's (2-series Mastercard 22-27, 30 and 34-39, 4, 5, 6), so millisecond
timestamps (``1705312345678``) and most long ids never qualify; Luhn leaves one in ten
of what remains.
"""

from __future__ import annotations

from processing.redaction.detectors.digits import Run
from processing.redaction.spans import Hit

CARD = "card"
MIN_DIGITS, MAX_DIGITS = 13, 19
_GROUP_SEPARATORS = frozenset({" ", "-", "."})
_ISSUER_PREFIXES = (
    "22",
    "23",
    "24",
    "25",
    "26",
    "27",
    "30",
    "34",
    "35",
    "36",
    "37",
    "38",
    "39",
    "4",
    "5",
    "6",
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_number(digits: str) -> bool:
    return (
        MIN_DIGITS <= len(digits) <= MAX_DIGITS and digits.startswith(_ISSUER_PREFIXES) and luhn_valid(digits)
    )


def cards(run: Run, hits: list[Hit]) -> None:
    """Every window of the stretch's groups that reads as a card number."""
    digits, seps, sizes = run.digits, run.seps, run.sizes
    count = run.count
    remaining = run.total
    for first in range(count):
        size = sizes[first]
        if remaining < MIN_DIGITS:
            break  # not enough digits left for any card
        remaining -= size
        if size >= MIN_DIGITS:
            if size <= MAX_DIGITS and card_number(digits[first]):
                hits.append(Hit(run.starts[first], run.ends[first], CARD, digits[first]))
            continue
        if size != 4 or first + 1 >= count or seps[first] not in _GROUP_SEPARATORS:
            continue
        sep = seps[first]
        number = digits[first]
        window = [4]
        for last in range(first + 1, count):
            if last > first + 1 and seps[last - 1] != sep:
                break
            number += digits[last]
            window.append(sizes[last])
            if len(number) > MAX_DIGITS:
                break
            if len(number) >= MIN_DIGITS and _grouped_like_a_card(window) and card_number(number):
                hits.append(Hit(run.starts[first], run.ends[last], CARD, number))


def _grouped_like_a_card(sizes: list[int]) -> bool:
    return (all(size == 4 for size in sizes[1:-1]) and 1 <= sizes[-1] <= 4) or sizes in ([4, 6, 5], [4, 6, 4])
