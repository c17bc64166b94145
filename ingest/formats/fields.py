"""One log object, with the field names shippers use, into one ``IntakeRecord``.

- text: the first of ``text``, ``message``, ``log``, ``msg``, ``body`` whose value is a
  string (the others stay attributes); none present is ``missing_text``, present but
  none a string is ``invalid_text``; blank, NUL or unpaired surrogates are
  ``invalid_text``; past ``max_text_chars`` is ``text_too_long``. The text is never
  cut: it is the log.
- ``tenant_id``, ``log_id``: optional (absent or null), else valid identifiers
  (``core.identifiers``), or the record is ``invalid_tenant_id`` / ``invalid_log_id``.
- event time: the first of ``timestamp``, ``@timestamp``, ``time``, ``date`` that reads
  as RFC 3339 (offset optional, UTC when absent) or epoch seconds, milliseconds,
  microseconds or nanoseconds (a number or a numeric string; the magnitude decides
  the unit), as RFC 3339 UTC. A value that does not read stays an attribute, so a
  shipper's odd clock format never costs a log.
- severity: the first of ``level``, ``severity`` that is a string of at most
  ``SEVERITY_MAX_CHARS`` characters or an integer.
- attributes: every other top-level field, bounded by ``bound_attributes``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from core.identifiers import identifier_error
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import (
    INVALID_LOG_ID,
    INVALID_RECORD,
    INVALID_TENANT_ID,
    INVALID_TEXT,
    MISSING_TEXT,
    TEXT_TOO_LONG,
    IntakeRecord,
    RecordInvalid,
    intake_record,
)

TEXT_FIELDS = ("text", "message", "log", "msg", "body")
TIME_FIELDS = ("timestamp", "@timestamp", "time", "date")
SEVERITY_FIELDS = ("level", "severity")
TENANT_FIELD = "tenant_id"
LOG_ID_FIELD = "log_id"
# Set (to a count) when attributes were dropped or string values cut at a bound.
DROPPED_ATTRIBUTES = "dataproc.dropped_attributes"
TRUNCATED_ATTRIBUTES = "dataproc.truncated_attributes"
MARKERS = (DROPPED_ATTRIBUTES, TRUNCATED_ATTRIBUTES)
# The stored record's severity column (tenants.models.StoredLog) holds 32 characters.
SEVERITY_MAX_CHARS = 32

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A numeric string: digits, optionally a fraction; no exponent, so no huge Decimal.
_NUMERIC_RE = re.compile(r"[+-]?\d{1,21}(\.\d{1,30})?")
_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,30}))?"
    r"(?:[Zz]|([+-])(\d{2}):?(\d{2}))?"
)
# Past this an epoch value is beyond year 9999 whatever its unit.
_EPOCH_MAGNITUDE_LIMIT = Decimal(10) ** 21


def record_from_object(document: object, limits: IntakeLimits) -> IntakeRecord:
    """The record of one JSON log object; RecordInvalid says why it cannot be one.

    One pass with the fields looked up directly: every log of a batch comes through
    here, so it makes no candidate dict or generator per record (the attributes are
    bounded straight from ``document``, skipping the fields it consumed).
    """
    if not isinstance(document, dict):
        raise RecordInvalid(INVALID_RECORD, f"expected a JSON object, not {_json_type(document)}.")
    tenant_id = _optional_identifier(document, TENANT_FIELD, INVALID_TENANT_ID)
    log_id = _optional_identifier(document, LOG_ID_FIELD, INVALID_LOG_ID)

    for text_field in TEXT_FIELDS:
        text = document.get(text_field)
        if isinstance(text, str):
            break
    else:
        raise _text_refusal(document)
    check_text(text, limits, text_field)
    consumed = {TENANT_FIELD, LOG_ID_FIELD, text_field}

    event_time = ""
    for name in TIME_FIELDS:
        if name in document:
            parsed = parse_event_time(document[name])
            if parsed is not None:
                event_time = parsed
                consumed.add(name)
                break

    severity = ""
    for name in SEVERITY_FIELDS:
        if name in document:
            parsed_severity = _severity(document[name])
            if parsed_severity:
                severity = parsed_severity
                consumed.add(name)
                break

    return intake_record(
        text, tenant_id, log_id, event_time, severity, bound_attributes(document, limits, skip=consumed)
    )


def _text_refusal(document: dict) -> RecordInvalid:
    present = [name for name in TEXT_FIELDS if name in document]
    if present:
        return RecordInvalid(INVALID_TEXT, f"{present[0]} must be a string.")
    return RecordInvalid(MISSING_TEXT, f"text is required (as one of {', '.join(TEXT_FIELDS)}).")


def check_text(text: str, limits: IntakeLimits, name: str = "text") -> None:
    """RecordInvalid unless ``text`` can be queued and stored (text/plain bodies too)."""
    if not text.strip():
        raise RecordInvalid(INVALID_TEXT, f"{name} must not be empty.")
    if len(text) > limits.max_text_chars:
        raise RecordInvalid(
            TEXT_TOO_LONG,
            f"{name} is {len(text)} characters; the limit is {limits.max_text_chars}.",
        )
    # NUL cannot be stored in PostgreSQL text, nor an unpaired surrogate encoded for the queue.
    if "\x00" in text:
        raise RecordInvalid(INVALID_TEXT, f"{name} must not contain NUL characters.")
    if not text.isascii() and not _encodable(text):
        raise RecordInvalid(
            INVALID_TEXT, f"{name} must be valid Unicode (it contains an unpaired surrogate)."
        )


# -- time ------------------------------------------------------------------------------


def parse_event_time(value: object) -> str | None:
    """``value`` as RFC 3339 UTC (microseconds, ``+00:00``), or None when it is not a timestamp.

    Numbers and numeric strings are epoch time: below 1e11 seconds, below 1e14
    milliseconds, below 1e17 microseconds, else nanoseconds (each range starts in
    1973 and ends after year 5000, so real clocks never sit at a boundary).
    Fractions below a microsecond are dropped.
    """
    if type(value) is str:
        canonical = _canonical_utc(value)
        if canonical is not None:
            return canonical
    return _read_event_time(value)


def _read_event_time(value: object) -> str | None:
    """``parse_event_time`` for every form (the exact reading ``_canonical_utc`` must agree with)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _from_epoch(Decimal(value))
    if isinstance(value, float):
        return _from_epoch(Decimal(repr(value))) if math.isfinite(value) else None
    if isinstance(value, str):
        stripped = value.strip()
        if _NUMERIC_RE.fullmatch(stripped):
            return _from_epoch(Decimal(stripped))
        return _from_rfc3339(stripped)
    return None


def _canonical_utc(text: str) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS`` with 0-6 fraction digits and ``Z`` or ``+00:00``, read without a regex; else None.

    The form shippers send (Vector, Fluent Bit, the OpenTelemetry SDKs): its reading
    is the text itself with the fraction padded to microseconds, once
    ``datetime.fromisoformat`` has checked the date and time exist. Anything else
    (no zone, another offset, a leap second, a lowercase ``t``, spaces) is None and
    takes the exact reading.
    """
    if text[-1:] == "Z":
        size = len(text) - 1
    elif text[-6:] == "+00:00":
        size = len(text) - 6
    else:
        return None
    if size == 19:
        fraction = "000000"
    elif 21 <= size <= 26 and text[19] == ".":
        fraction = text[20:size]
        if not (fraction.isascii() and fraction.isdigit()):
            return None
        fraction = fraction.ljust(6, "0")
    else:
        return None
    head = text[:19]
    if head[4] != "-" or head[7] != "-" or head[10] != "T" or head[13] != ":" or head[16] != ":":
        return None
    try:
        # With those separators at those places, what it reads is exactly YYYY-MM-DDTHH:MM:SS
        # in ASCII digits, an existing date and time (second 60 is refused).
        _from_isoformat(head)
    except ValueError:
        return None
    return f"{head}.{fraction}+00:00"


_from_isoformat = datetime.fromisoformat


def event_time_from_unix_nano(nanoseconds: int) -> str:
    """OTLP's fixed64 nanoseconds as RFC 3339 UTC; "" for 0 (unset) or out of range.

    The text of each whole second is kept (``_SECOND_TEXTS``): the records of a batch
    mostly share their seconds, and the datetime arithmetic and ``isoformat`` of the
    exact reading cost three times the microseconds' formatting.
    """
    if nanoseconds <= 0:
        return ""
    seconds, microsecond = divmod(nanoseconds // 1000, 1_000_000)
    second_text = _SECOND_TEXTS.get(seconds)
    if second_text is None:
        whole = _utc_text(_EPOCH, seconds * 1_000_000)
        if whole is None:
            return ""
        if len(_SECOND_TEXTS) >= _SECOND_TEXTS_KEPT:
            _SECOND_TEXTS.clear()
        # "YYYY-MM-DDTHH:MM:SS": within datetime's range the year has four digits.
        second_text = _SECOND_TEXTS[seconds] = whole[:19]
    return f"{second_text}.{microsecond:06d}+00:00"


_SECOND_TEXTS: dict[int, str] = {}
_SECOND_TEXTS_KEPT = 4096


def _from_epoch(number: Decimal) -> str | None:
    magnitude = abs(number)
    if magnitude >= _EPOCH_MAGNITUDE_LIMIT:
        return None
    if magnitude < Decimal("1e11"):
        microseconds = number * 1_000_000
    elif magnitude < Decimal("1e14"):
        microseconds = number * 1000
    elif magnitude < Decimal("1e17"):
        microseconds = number
    else:
        microseconds = number / 1000
    try:
        whole = int(microseconds.to_integral_value(rounding=ROUND_FLOOR))
    except InvalidOperation:
        return None
    return _utc_text(_EPOCH, whole)


def _from_rfc3339(text: str) -> str | None:
    match = _RFC3339_RE.fullmatch(text)
    if not match:
        return None
    second, sign, offset_hours, offset_minutes = match.group(6, 8, 9, 10)
    if second != "60" and (not sign or (int(offset_hours) <= 23 and int(offset_minutes) <= 59)):
        # What the pattern admits, datetime.fromisoformat reads the same way (fractions
        # past microseconds cut, not rounded) at a third of the cost; its refusals
        # (a lowercase ``t``/``z``, an impossible date) take the long way below.
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None or moment.tzinfo is UTC:
                return moment.replace(tzinfo=UTC).isoformat(timespec="microseconds")
            return _utc_text(moment, 0)
    return _rfc3339_by_parts(match)


def _rfc3339_by_parts(match: re.Match) -> str | None:
    """The reading of every form ``_RFC3339_RE`` admits, leap seconds and lowercase included."""
    year, month, day, hour, minute, second, fraction, sign, offset_hours, offset_minutes = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    second_number = int(second)
    if second_number == 60:  # a leap second: the last instant of the minute before
        second_number, microsecond = 59, 999_999
    tz = UTC
    if sign:
        if int(offset_hours) > 23 or int(offset_minutes) > 59:
            return None
        offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        tz = timezone(-offset if sign == "-" else offset)
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            second_number,
            microsecond,
            tzinfo=tz,
        )
    except ValueError:
        return None
    return _utc_text(moment, 0)


def _utc_text(start: datetime, microseconds: int) -> str | None:
    try:
        moment = (start + timedelta(microseconds=microseconds)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment.isoformat(timespec="microseconds")


# -- severity and identifiers ---------------------------------------------------------------


def _severity(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) <= SEVERITY_MAX_CHARS and "\x00" not in stripped and _encodable(stripped):
            return stripped
    return ""


def _optional_identifier(document: dict, name: str, code: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    problem = identifier_error(value, name)
    if problem:
        raise RecordInvalid(code, problem)
    return value


# -- attributes ------------------------------------------------------------------------------


def bound_attributes(
    candidates: Mapping[str, object], limits: IntakeLimits, skip: Collection[object] = ()
) -> dict[str, Any]:
    """The attributes to keep, in order, within the bounds; what did not fit is counted.

    Values become JSON scalars (objects and arrays are kept as their compact JSON
    text), so every attribute is one flat field any store takes and the redaction of
    string values covers nested data too. Integers beyond 64 bits become strings.

    Past a bound the record is kept and the attribute is not: the log's text is what
    the client sent it for, and a shipper does not resend the records a 202 rejected.
    A key that is not a string of 1-``max_attribute_key_chars`` characters (no NUL, no
    unpaired surrogate, not Firestore's reserved ``__name__`` form, not a marker), an
    attribute past ``max_attributes`` or past ``max_attributes_bytes`` (UTF-8, keys and
    values together), or a value that cannot be stored, is dropped and counted in
    ``dataproc.dropped_attributes``; a string value longer than
    ``max_attribute_value_chars`` is cut to it and counted in
    ``dataproc.truncated_attributes`` (as OpenTelemetry's attribute limits do).

    ``skip`` names keys of ``candidates`` that are not attributes (the fields a record
    consumed), so a log object is bounded as it is, without a copy. The common case,
    an ASCII key with a string value, is checked inline: this runs for every
    attribute of every log.
    """
    kept: dict[str, Any] = {}
    dropped = truncated = used_bytes = 0
    max_attributes, max_key_chars = limits.max_attributes, limits.max_attribute_key_chars
    max_value_chars, max_bytes = limits.max_attribute_value_chars, limits.max_attributes_bytes
    for key, raw_value in candidates.items():
        if key in skip:
            continue
        if len(kept) >= max_attributes:
            dropped += 1
            continue
        if type(key) is str and key.isascii():
            # _valid_key for ASCII text: encodable, one byte a character.
            if (
                not 0 < len(key) <= max_key_chars
                or "\x00" in key
                or (len(key) >= 4 and key.startswith("__") and key.endswith("__"))
                or key in MARKERS
            ):
                dropped += 1
                continue
            key_bytes = len(key)
        elif _valid_key(key, limits):
            key_bytes = _utf8_length(key)
        else:
            dropped += 1
            continue
        value = raw_value if type(raw_value) is str else attribute_value(raw_value)
        if type(value) is str:
            if value is raw_value and ("\x00" in value or not (value.isascii() or _encodable(value))):
                dropped += 1  # what attribute_value calls unstorable
                continue
            if len(value) > max_value_chars:
                value = value[:max_value_chars]
                truncated += 1
            size = key_bytes + _utf8_length(value)
        elif value is _UNSTORABLE:
            dropped += 1
            continue
        else:
            size = key_bytes + _encoded_size(value)
        if used_bytes + size > max_bytes:
            dropped += 1
            continue
        kept[key] = value
        used_bytes += size
    if dropped:
        kept[DROPPED_ATTRIBUTES] = dropped
    if truncated:
        kept[TRUNCATED_ATTRIBUTES] = truncated
    return kept


_UNSTORABLE = object()


def attribute_value(value: object) -> Any:
    """A JSON scalar for ``value`` (structures as compact JSON text), or _UNSTORABLE."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if "\x00" not in value and _encodable(value) else _UNSTORABLE
    if isinstance(value, dict | list):
        try:
            text = compact_json(value)
        except (TypeError, ValueError):
            return _UNSTORABLE
        return text if _encodable(text) else _UNSTORABLE
    return _UNSTORABLE


def compact_json(value: object) -> str:
    """JSON without spaces, non-ASCII kept; NaN and infinities refused (they are not JSON)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _valid_key(key: object, limits: IntakeLimits) -> bool:
    return (
        isinstance(key, str)
        and 0 < len(key) <= limits.max_attribute_key_chars
        and "\x00" not in key
        and _encodable(key)
        and not (len(key) >= 4 and key.startswith("__") and key.endswith("__"))  # Firestore's __name__ form
        and key not in MARKERS
    )


def _encoded_size(value: object) -> int:
    """The bytes of a JSON scalar as JSON; json.dumps only for what is not a plain one."""
    if isinstance(value, str):
        return _utf8_length(value)
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return len(repr(value))  # what json writes for them
    return len(json.dumps(value))


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__
