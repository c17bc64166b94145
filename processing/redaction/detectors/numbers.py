"""Phone numbers, SSNs and card numbers in one digit stretch, read group by group.

From the first group on, the first reading that fits wins and the reading goes on after
it: a number written with ``+``, then one dialled with an international prefix, a dashed
SSN, a North American number, a national number of the policy's regions. Card numbers are
read over every window of groups independently, because a grouped card
(``4111 1111 1111 1111``) can hold what would otherwise read as a shorter number; the
engine merges overlapping findings, so nothing is left half redacted.
"""

from __future__ import annotations

from dataclasses import dataclass

from processing.redaction.detectors import card, phone, ssn
from processing.redaction.detectors.digits import Run
from processing.redaction.spans import Hit


@dataclass(frozen=True)
class NumberConfig:
    phone: phone.PhoneConfig | None  # None: phone numbers are not looked for
    card: bool
    ssn: bool


def numbers_in(text: str, start: int, end: int, config: NumberConfig, leading: str, hits: list[Hit]) -> None:
    """Every phone number, SSN and card number in the stretch ``text[start:end]``."""
    run = Run(text, start, end)
    if end < len(text) and text[end].isalnum() and not (config.phone and phone.is_extension(text, end)):
        # "4111111111111111x", "45.123456Z": the last group is part of a word, not a number.
        run.drop_last()
        if not run.digits:
            return
    if config.card and run.total >= card.MIN_DIGITS:
        card.cards(run, hits)
    phones = config.phone
    index = 0
    if "+" in run.lead or "\uff0b" in run.lead:
        if phones is None:
            return
        last = phone.international(run, hits)
        index = 1 if last is None else last + 1
    elif phones is not None:
        last = phone.dialled_internationally(run, phones, leading, hits)
        if last is not None:
            index = last + 1
    count = run.count
    sizes = run.sizes
    date = run.date
    ssns = config.ssn
    nanp = phones is not None and phones.nanp
    regions = phones is not None and phones.regions
    while index < count:
        size = sizes[index]
        last = None
        if not date[index]:
            if ssns and (size == 3 or size == 9):
                last = ssn.ssn(run, index, leading, hits)
            if last is None and nanp and size in phone.NANP_GROUP_SIZES:
                last = phone.north_american(run, index, leading, hits)
            if last is None and regions:
                last = phone.national(run, index, phones, leading, hits)
        index = index + 1 if last is None else last + 1
