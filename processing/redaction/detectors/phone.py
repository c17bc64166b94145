"""Phone numbers in a digit stretch: international, North American, and the tenant's regions.

- **International** (``+44 20 7946 0958``, ``+44 (0)20 ...``, ``0044 20 ...``, ``011 44 ...``):
  the country code and the possible lengths of its national numbers come from
  libphonenumber's metadata (``phonenumbers``). A number counts when its length is a
  possible one for its country, not a "local only" length (``+12345678`` is +1 with seven
  digits: not a number anyone can dial from abroad). The longest possible prefix of the
  stretch wins, so a number run together with more digits is still found.
  libphonenumber's own ``PhoneNumberMatcher`` (even at ``Leniency.POSSIBLE``) is pure
  Python that costs hundreds of µs a line, and ``parse`` about 30 µs a candidate; reading
  the metadata directly costs a few µs, which is what lets redaction keep up with a log
  stream.
- **North American** national forms, when the policy has a +1 region (the default: US):
  ``(555) 123-4567``, ``555-123-4567``, ``555.123.4567``, ``555 123 4567``, ``1-555-...``
  and the placeholder ``123-456-7890``, whatever surrounds them; the ambiguous bare
  ``5551234567`` and seven-digit ``555-0199`` unless the words before say otherwise
  (``context``).
- **National numbers of the policy's other regions** (``GB``: ``020 7946 0958``; ``DE``:
  ``030 12345678``): written in groups after the region's trunk prefix (``0``) with a
  possible length, they count as they are (fictional ranges such as ``07700 900123``
  included, as ``555`` numbers are); written bare, or in a region without a trunk prefix,
  only numbers ``phonenumbers.is_valid_number`` accepts (the costly call, made only for
  these) count. Either way they are ambiguous like bare digits: the words before decide.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata

from processing.redaction.context import Verdict, verdict
from processing.redaction.detectors.digits import Run
from processing.redaction.spans import Hit

PHONE = "phone"
# Digits (country code included) of the longest numbers; ITU-T E.164 allows 15, extensions aside.
MAX_INTERNATIONAL_DIGITS = 17
MIN_INTERNATIONAL_DIGITS = 7
# International prefixes read everywhere: 00 (most of the world) and 011 (North America).
COMMON_IDDS = ("011", "00")
NANP_SEPARATORS = ("-", ".", " ")
# Sizes of the group a North American number can start with: trunk 1, area code, bare 10 or 11 digits.
NANP_GROUP_SIZES = frozenset({1, 3, 10, 11})
PLACEHOLDER = "1234567890"
# " x 12", "x12", " ext. 12", ";ext=12" after a number: its extension, redacted with it.
_EXTENSION = re.compile(r"(?:\ ?;\ ?ext=|\ ?(?:ext\.?|extension|x)\ ?)[0-9]{1,7}(?![0-9])", re.IGNORECASE)
# Most national candidates validated per digit stretch; each validation costs ~60 µs.
MAX_VALIDATIONS = 4


@dataclass(frozen=True)
class NationalRegion:
    """What reading national numbers through one region needs: its code, country code, trunk prefix, lengths."""

    code: str
    country_code: int
    trunk_prefix: str
    lengths: frozenset[int]

    @classmethod
    def of(cls, code: str) -> NationalRegion:
        metadata = PhoneMetadata.metadata_for_region(code)
        prefix = metadata.national_prefix or ""
        return cls(
            code, metadata.country_code, prefix if prefix.isdigit() else "", _possible_lengths(metadata)
        )


@dataclass(frozen=True)
class PhoneConfig:
    nanp: bool
    regions: tuple[NationalRegion, ...]
    idds: tuple[str, ...]

    @classmethod
    def for_regions(cls, codes: Sequence[str]) -> PhoneConfig:
        nanp = False
        regions = []
        idds = list(COMMON_IDDS)
        for code in codes:
            metadata = PhoneMetadata.metadata_for_region(code)
            if metadata.country_code == 1:
                nanp = True
            else:
                regions.append(NationalRegion.of(code))
            for prefix in (metadata.international_prefix, metadata.preferred_international_prefix):
                if prefix and prefix.isdigit() and prefix not in idds:
                    idds.append(prefix)
        # Longest first, so 0011 is tried before 00.
        return cls(nanp, tuple(regions), tuple(sorted(idds, key=len, reverse=True)))


def _possible_lengths(metadata) -> frozenset[int]:
    general = metadata.general_desc
    local_only = set(general.possible_length_local_only or ())
    return frozenset(length for length in general.possible_length or () if length not in local_only)


@functools.cache
def _country(country_code: int) -> tuple[frozenset[int], str] | None:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return None
    prefix = metadata.national_prefix or ""
    return _possible_lengths(metadata), prefix if prefix.isdigit() else ""


def international_key(digits: str) -> str | None:
    """``+<country code><national number>`` when ``digits`` (after the + or the international
    prefix) are a possible international number; None otherwise."""
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        country = _country(country_code)
        if country is None:
            continue
        lengths, trunk = country
        national = digits[size:]
        if len(national) in lengths:
            return f"+{country_code}{national}"
        # "+44 (0)20 ...": the trunk prefix written inside an international number.
        if trunk and national.startswith(trunk) and len(national) - len(trunk) in lengths:
            return f"+{country_code}{national[len(trunk) :]}"
        return None  # country codes are prefix-free: no longer one can match
    return None


_EXTENSION_STARTS = frozenset(" ;xXeE")


def _extended(text: str, end: int) -> int:
    if text[end : end + 1] not in _EXTENSION_STARTS:
        return end
    extension = _EXTENSION.match(text, end)
    return extension.end() if extension else end


def is_extension(text: str, position: int) -> bool:
    return _EXTENSION.match(text, position) is not None


def _lowered(run: Run, start: int, index: int, leading: str) -> bool:
    """An ambiguous number is no phone number when the words before it say so, or a ``#`` marks it."""
    if index == 0 and run.left == "#":
        return True
    return verdict(run.text, start, leading) is Verdict.LOWER


def international(run: Run, hits: list[Hit]) -> int | None:
    """A number written with ``+`` from the stretch's first group: the index of its last group, or None."""
    return _longest_international(run, 0, run.start, "", hits)


def _longest_international(run: Run, first: int, span_start: int, idd: str, hits: list[Hit]) -> int | None:
    ends = []
    digits = ""
    for index in range(first, run.count):
        digits += run.digits[index]
        if len(digits) - len(idd) > MAX_INTERNATIONAL_DIGITS:
            break
        if len(digits) - len(idd) >= MIN_INTERNATIONAL_DIGITS:
            ends.append((index, digits))
    for index, candidate in reversed(ends):
        if run.any_date(first, index) or run.joined_right(index):
            continue
        key = international_key(candidate[len(idd) :])
        if key:
            hits.append(Hit(span_start, _extended(run.text, run.ends[index]), PHONE, key))
            return index
    return None


def dialled_internationally(run: Run, config: PhoneConfig, leading: str, hits: list[Hit]) -> int | None:
    """``0044 20 7946 0958``, ``011 44 ...``: an international prefix at the start of the stretch, then a
    possible number.

    Written as one bare run of digits (``00441234567890``) it is as ambiguous as any long id,
    so the words before it decide, as for bare national numbers.
    """
    # Only where a stretch of digits starts: inside one ("DE89 3704 0044 0532 ...", an IBAN
    # with a typo) 00 is just two digits.
    group = run.digits[0]
    if group[0] != "0" or run.lead or run.left in ".,/$-":
        return None
    if run.left == ":" and run.start >= 2 and run.text[run.start - 2].isdigit():
        return None  # 12:0044...: the minutes of a time
    idd = next((prefix for prefix in config.idds if group.startswith(prefix)), None)
    if idd is None:
        return None
    found: list[Hit] = []
    last = _longest_international(run, 0, run.starts[0], idd, found)
    if last is None or (last == 0 and _lowered(run, run.starts[0], 0, leading)):
        return None
    hits.extend(found)
    return last


def north_american(run: Run, index: int, leading: str, hits: list[Hit]) -> int | None:
    """A North American number from group ``index``: the index of its last group, or None."""
    digits, seps = run.digits, run.seps
    count = run.count
    start = run.starts[index]
    if digits[index] == "1" and index + 1 < count and not run.joined_left(index):
        # A trunk "1": 1-555-123-4567, 1 555 123 4567, 1.555.123.4567, 1 (555) 123-4567.
        sep = seps[index]
        if sep.endswith("("):
            last = _parenthesised(run, index + 1)
        elif sep in NANP_SEPARATORS:
            last = _three_three_four(run, index + 1, sep if sep == "." else None)
        else:
            last = None
        if last is not None:
            return _add(run, start, index, last, hits)
    if _opens_with_parenthesis(run, index):
        last = _parenthesised(run, index)
        if last is not None:
            return _add(run, start - 1, index, last, hits)
    if run.joined_left(index):
        return None
    last = _three_three_four(run, index, None)
    if last is not None:
        return _add(run, start, index, last, hits)
    group = digits[index]
    size = len(group)
    ambiguous = (
        (size == 10 and group[0] in "23456789")
        or (size == 11 and group[0] == "1" and group[1] in "23456789")
        or (
            size == 3
            and group[0] in "23456789"
            and index + 1 < count
            and seps[index] == "-"
            and len(digits[index + 1]) == 4
        )
    )
    if not ambiguous:
        return None
    last = index if size != 3 else index + 1
    if run.joined_right(last) or _lowered(run, start, index, leading):
        return None
    return _add(run, start, index, last, hits)


def _opens_with_parenthesis(run: Run, index: int) -> bool:
    if index:
        return run.seps[index - 1].endswith("(")
    return run.lead.endswith("(") or (not run.lead and run.left == "(")


def _parenthesised(run: Run, index: int) -> int | None:
    """(555) 123-4567, (555)123-4567, (555) 1234567, from the area code's group."""
    digits, seps = run.digits, run.seps
    if len(digits[index]) != 3 or index + 1 >= run.count or not _area_code(digits[index], digits, index):
        return None
    after_area = seps[index]
    if not after_area.startswith(")") or after_area.endswith("("):
        return None
    if len(digits[index + 1]) == 7 and after_area in (")", ") "):
        last = index + 1
    elif (
        index + 2 < run.count
        and len(digits[index + 1]) == 3
        and len(digits[index + 2]) == 4
        and seps[index + 1] in ("-", ".", " ")
    ):
        last = index + 2
    else:
        return None
    return None if run.joined_right(last) else last


def _three_three_four(run: Run, index: int, required: str | None) -> int | None:
    """555-123-4567, 555.123.4567, 555 123 4567 (one separator throughout) from group ``index``."""
    digits, seps = run.digits, run.seps
    if index + 2 >= run.count:
        return None
    if len(digits[index]) != 3 or len(digits[index + 1]) != 3 or len(digits[index + 2]) != 4:
        return None
    sep = seps[index]
    if sep not in NANP_SEPARATORS or seps[index + 1] != sep or (required and sep != required):
        return None
    if not _area_code(digits[index], digits, index) or run.joined_right(index + 2):
        return None
    return index + 2


def _area_code(area: str, digits: list[str], index: int) -> bool:
    return area[0] in "23456789" or "".join(digits[index : index + 3]) == PLACEHOLDER


def _add(run: Run, start: int, first: int, last: int, hits: list[Hit]) -> int:
    digits = "".join(run.digits[first : last + 1])
    national = digits[1:] if len(digits) == 11 else digits
    hits.append(Hit(start, _extended(run.text, run.ends[last]), PHONE, f"+1{national}"))
    return last


def national(run: Run, index: int, config: PhoneConfig, leading: str, hits: list[Hit]) -> int | None:
    """A national number of one of the policy's other regions, from group ``index``."""
    if not config.regions or run.joined_left(index):
        return None
    start = run.starts[index]
    lowered = None
    validations = 0
    for region in config.regions:
        if region.trunk_prefix and not run.digits[index].startswith(region.trunk_prefix):
            continue
        trunk = len(region.trunk_prefix)
        candidates = []
        so_far = ""
        for last in range(index, run.count):
            so_far += run.digits[last]
            if len(so_far) - trunk > MAX_INTERNATIONAL_DIGITS:
                break
            if (
                (last > index or trunk)
                and len(so_far) - trunk in region.lengths
                and not run.joined_right(last)
            ):
                candidates.append((last, so_far))
        for last, digits in reversed(candidates):
            if run.any_date(index, last):
                continue
            if lowered is None:
                lowered = _lowered(run, start, index, leading)
            if lowered:
                return None
            national_digits = digits[trunk:]
            if not (trunk and last > index):
                # Bare, or in a region without a trunk prefix: only a number libphonenumber knows as valid.
                if validations >= MAX_VALIDATIONS:
                    return None
                validations += 1
                number = _valid_national(run.text[start : run.ends[last]], region)
                if number is None:
                    continue
                national_digits = str(number.national_number)
            hits.append(
                Hit(
                    start,
                    _extended(run.text, run.ends[last]),
                    PHONE,
                    f"+{region.country_code}{national_digits}",
                )
            )
            return last
    return None


def _valid_national(candidate: str, region: NationalRegion):
    try:
        number = phonenumbers.parse(candidate, region.code)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != region.country_code or not phonenumbers.is_valid_number(number):
        return None
    return number
