"""A stretch of digit groups and the separators between them, as the number detectors read it.

The scanner hands over each stretch of digits joined by single separators
(``+44 (0)20 7946 0958``, ``2024-01-15 555-0199``, ``4111.1111.1111.1111``); the phone,
card and SSN detectors then look at its groups' sizes and separators instead of each
running its own pattern over the text. Groups that form a date are marked: a date is
never part of a number to redact.
"""

from __future__ import annotations

import re
from itertools import accumulate

_SPLIT = re.compile(r"([0-9]+)")
# Separators that join two groups into one token ("v1.2", "550e8400-e29b", "a/b"): a number
# preceded or followed by one of these is part of something longer.
JOINING = frozenset("-./")
_DATE_SEPARATORS = frozenset("-./")


class Run:
    """Digit groups ``digits[i]`` at ``text[starts[i]:ends[i]]`` with ``seps[i]`` between groups i and i+1.

    ``lead`` is what the stretch holds before its first digit (``+``, ``(``); ``left`` the
    character before the stretch; ``trail`` the separator after the last group when the
    stretch went on into something glued to a word (``555-123-4567x`` is not read as ending
    at ``4567``... unless that is an extension, which the phone detector takes).
    """

    __slots__ = (
        "count",
        "date",
        "digits",
        "ends",
        "lead",
        "left",
        "seps",
        "sizes",
        "start",
        "starts",
        "text",
        "total",
        "trail",
    )

    def __init__(self, text: str, start: int, end: int) -> None:
        parts = _SPLIT.split(text[start:end])  # lead, group, sep, group, ..., group, ""
        lengths = list(map(len, parts))
        offsets = list(accumulate(lengths, initial=start))  # part k is text[offsets[k]:offsets[k + 1]]
        self.text = text
        self.start = start
        self.lead = parts[0]
        self.left = text[start - 1] if start else ""
        self.trail = ""
        self.digits = parts[1::2]
        self.seps = seps = parts[2:-1:2]
        if "+" in seps:
            # Form encoding: phone=555+123+4567 is 555 123 4567.
            self.seps = seps = [" " if sep == "+" else sep for sep in seps]
        self.sizes = sizes = lengths[1::2]
        self.starts = offsets[1:-1:2]
        self.ends = offsets[2::2]
        self.count = count = len(sizes)
        self.total = sum(sizes)
        self.date = _date_groups(sizes, seps) if count >= 3 else [False] * count

    def drop_last(self) -> None:
        """Forget the last group (it is glued to a word); its separator becomes the trail."""
        self.trail = self.seps.pop() if self.seps else ""
        for column in (self.starts, self.ends, self.digits, self.date):
            column.pop()
        self.total -= self.sizes.pop()
        self.count -= 1

    def before(self, index: int) -> str:
        """The separator before group ``index``: ``seps[index - 1]``, or the lead for the first group."""
        return self.seps[index - 1] if index else self.lead

    def after(self, index: int) -> str:
        """The separator after group ``index``, or the trail for the last group."""
        return self.seps[index] if index < len(self.seps) else self.trail

    def joined_left(self, index: int) -> bool:
        """Whether group ``index`` continues something before it (``v1.5551234567``, ``-5551234567``)."""
        if index:
            return self.seps[index - 1] != " "
        return bool(self.lead) or self.left in JOINING

    def joined_right(self, index: int) -> bool:
        return self.after(index) in JOINING

    def any_date(self, first: int, last: int) -> bool:
        return any(self.date[first : last + 1])


def _date_groups(sizes: list[int], seps: list[str]) -> list[bool]:
    """Which groups belong to a date: 2024-01-15, 2024.01.15, 15/01/2024, 01-15-2024."""
    date = [False] * len(sizes)
    for i in range(len(sizes) - 2):
        sep = seps[i]
        if sep != seps[i + 1] or sep not in _DATE_SEPARATORS:
            continue
        first, second, third = sizes[i], sizes[i + 1], sizes[i + 2]
        # Not 15.01.24: numbers are written in pairs (+687 75.10.00, 01.23.45.67.89).
        if (first == 4 and second == 2 and third == 2) or (first <= 2 and second <= 2 and third == 4):
            date[i] = date[i + 1] = date[i + 2] = True
    return date
