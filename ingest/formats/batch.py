"""A decoded ``POST /ingest`` body into records: one JSON object, a JSON array of them, or NDJSON.

What is wrong with the body as a whole (not UTF-8 JSON, not an object or array,
empty, more than ``max_batch_lines`` records) raises the API's 400 or 413; what is
wrong with one record is a ``RecordError`` at its index, and the others go on:

- ``application/json``: an object is one record (the seed contract; ``single``);
  an array is a batch, each item a record (an item that is not an object is an
  ``invalid_record``). A body that is not one JSON document but whose first line
  is a JSON object and which has more lines is read as NDJSON: older Fluent Bit
  releases label their ``json_lines`` format ``application/json``.
- ``application/x-ndjson``: one JSON object per line; lines that are blank (a
  trailing newline, ``\\r\\n`` endings) are skipped and take no index; a line that
  is not UTF-8 JSON is an ``invalid_json`` record, not a malformed body. Details
  name the physical line, which is what a client finds in its file.

NaN and Infinity are refused: they are not JSON (RFC 8259) and PostgreSQL's JSON
refuses them.
"""

from __future__ import annotations

import json

import orjson

from core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ingest.formats.fields import record_from_object
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import (
    INVALID_JSON,
    IntakeRecord,
    ParsedBatch,
    RecordError,
    RecordInvalid,
)

MEDIA_JSON = "application/json"
MEDIA_NDJSON = "application/x-ndjson"
BATCH_MEDIA_TYPES = (MEDIA_JSON, MEDIA_NDJSON)
_BOM = b"\xef\xbb\xbf"


def parse_batch(media_type: str, body: bytes, limits: IntakeLimits) -> ParsedBatch:
    """The records of a decoded body of ``media_type`` (application/json or application/x-ndjson)."""
    if media_type == MEDIA_JSON:
        return parse_json_body(body, limits)
    if media_type == MEDIA_NDJSON:
        return parse_ndjson_body(body, limits)
    raise UnsupportedMediaType(f"Content-Type {media_type!r} is not a batch format.")


def parse_json_body(body: bytes, limits: IntakeLimits) -> ParsedBatch:
    try:
        text = body.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    if not text.strip():
        raise InvalidRequest("The body is empty; send a JSON log object or an array of them.")
    try:
        document = load_json(text)
    except ValueError as exc:
        if _is_ndjson(text):
            return parse_ndjson_body(body, limits)
        raise InvalidRequest(f"malformed JSON: {exc}") from None
    if isinstance(document, dict):
        return ParsedBatch.collect([_outcome(document, 0, limits)], single=True)
    if not isinstance(document, list):
        raise InvalidRequest("expected a JSON log object or an array of JSON log objects.")
    if not document:
        raise InvalidRequest("The batch is empty; send at least one log object.")
    _check_count(len(document), limits)
    items: list[tuple[int, IntakeRecord]] = []
    errors: list[RecordError] = []
    for index, item in enumerate(document):
        try:
            items.append((index, record_from_object(item, limits)))
        except RecordInvalid as invalid:
            errors.append(RecordError(index, invalid.code, invalid.detail))
    return ParsedBatch(items=tuple(items), errors=tuple(errors))


def parse_ndjson_body(body: bytes, limits: IntakeLimits) -> ParsedBatch:
    lines = [
        (number, line)
        for number, line in enumerate(body.removeprefix(_BOM).split(b"\n"), start=1)
        if line.strip()
    ]
    if not lines:
        raise InvalidRequest("The batch is empty; send one JSON log object per line.")
    _check_count(len(lines), limits)
    items: list[tuple[int, IntakeRecord]] = []
    errors: list[RecordError] = []
    for index, (number, line) in enumerate(lines):
        try:
            document = _load_line(line)
        except UnicodeDecodeError as exc:
            errors.append(
                RecordError(index, INVALID_JSON, f"line {number}: not valid UTF-8 (byte {exc.start}).")
            )
            continue
        except ValueError as exc:
            errors.append(RecordError(index, INVALID_JSON, f"line {number}: malformed JSON: {exc}"))
            continue
        try:
            items.append((index, record_from_object(document, limits)))
        except RecordInvalid as invalid:
            errors.append(RecordError(index, invalid.code, f"line {number}: {invalid.detail}"))
    return ParsedBatch(items=tuple(items), errors=tuple(errors))


def _load_line(line: bytes) -> object:
    """``load_json(line.decode("utf-8"))``, the common case without the decode.

    orjson reads UTF-8 bytes as it reads their text, and refuses bytes that are not
    UTF-8; whatever it refuses, or reads with a float that may be an integer, takes
    the exact way, which raises what that way raises (UnicodeDecodeError, ValueError).
    """
    try:
        document = _orjson_loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if not _holds_a_huge_float(document):
            return document
    return load_json(line.decode("utf-8"))


_orjson_loads = orjson.loads


def _is_ndjson(text: str) -> bool:
    """More than one non-blank line, the first of them a JSON object on its own."""
    lines = (line for line in text.split("\n") if line.strip())
    first = next(lines, None)
    if first is None or next(lines, None) is None:
        return False
    try:
        return isinstance(load_json(first), dict)
    except ValueError:
        return False


def load_json(text: str) -> object:
    """Strict JSON; ValueError (with line and column where the parser says) when it is not.

    orjson reads a log line several times faster than json. It reads an integer
    past 64 bits as a float, so a document holding a float that large is read
    again by json, which keeps the integer exact; and whatever orjson refuses is
    read again by json, so a refusal says why in json's words and json's reading
    decides (``1e400`` is infinity to it, refused by orjson).
    """
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if not _holds_a_huge_float(document):
            return document
    try:
        return _STRICT_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply.") from None


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value.")


_STRICT_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
# The least magnitude at which orjson may have read an integer as a float.
_HUGE_FLOAT = float(2**63)


def _holds_a_huge_float(value: object) -> bool:
    kind = type(value)
    if kind is float:
        return abs(value) >= _HUGE_FLOAT
    if kind is dict:
        values = value.values()
    elif kind is list:
        values = value
    else:
        return False
    for item in values:
        if type(item) in _SCALARS_BUT_FLOAT:
            continue
        if _holds_a_huge_float(item):
            return True
    return False


_SCALARS_BUT_FLOAT = frozenset({str, int, bool, type(None)})


def _outcome(
    document: object, index: int, limits: IntakeLimits, where: str = ""
) -> IntakeRecord | RecordError:
    try:
        return record_from_object(document, limits)
    except RecordInvalid as invalid:
        return RecordError(index, invalid.code, f"{where}{invalid.detail}")


def _check_count(count: int, limits: IntakeLimits) -> None:
    if count > limits.max_batch_lines:
        raise PayloadTooLarge(
            f"The batch has {count} logs; the limit is {limits.max_batch_lines} logs per request."
        )
