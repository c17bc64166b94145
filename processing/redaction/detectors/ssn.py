"""US Social Security numbers.

Dashed (``123-45-6789``) anywhere. Undashed (``123456789``) or spaced (``123 45 6789``)
only with an SSN keyword just before (``ssn=``, ``SSN``, ``social security``): nine
digits alone are far more often something else. Numbers the SSA never issues are
skipped: area 000, 666 or 900-999, group 00, serial 0000.
"""

from __future__ import annotations

from processing.redaction.context import says_ssn
from processing.redaction.detectors.digits import Run
from processing.redaction.spans import Hit

SSN = "ssn"


def issuable(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def ssn(run: Run, index: int, leading: str, hits: list[Hit]) -> int | None:
    """An SSN from group ``index``: the index of its last group, or None."""
    digits = run.digits
    if run.joined_left(index):
        return None
    if index + 2 < run.count and (len(digits[index]), len(digits[index + 1]), len(digits[index + 2])) == (
        3,
        2,
        4,
    ):
        sep = run.seps[index]
        if sep != run.seps[index + 1] or sep not in ("-", " ") or run.joined_right(index + 2):
            return None
        number = digits[index] + digits[index + 1] + digits[index + 2]
        if not issuable(number) or (sep == " " and not says_ssn(run.text, run.starts[index], leading)):
            return None
        hits.append(Hit(run.starts[index], run.ends[index + 2], SSN, number))
        return index + 2
    number = digits[index]
    if len(number) != 9 or run.joined_right(index) or not issuable(number):
        return None
    if not says_ssn(run.text, run.starts[index], leading):
        return None
    hits.append(Hit(run.starts[index], run.ends[index], SSN, number))
    return index
