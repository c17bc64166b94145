"""The intake's readings as they were written before the lean batch path: the oracle of its tests.

Straightforward code, one helper call per check and a candidate dict per record;
``test_fast_paths`` holds the production readers (``fields.record_from_object``,
``fields.bound_attributes``, ``batch.parse_ndjson_body``, ``otlp.records_from_request``
...) to give exactly what
these give, records, attributes and errors alike, for generated inputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.identifiers import is_valid_identifier
from ingest.formats import fields, otlp
from ingest.formats.batch import load_json
from ingest.formats.fields import (
    DROPPED_ATTRIBUTES,
    LOG_ID_FIELD,
    SEVERITY_FIELDS,
    TENANT_FIELD,
    TEXT_FIELDS,
    TIME_FIELDS,
    TRUNCATED_ATTRIBUTES,
)
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import (
    INVALID_JSON,
    INVALID_LOG_ID,
    INVALID_RECORD,
    INVALID_TENANT_ID,
    INVALID_TEXT,
    INVALID_TRACE_ID,
    MISSING_TEXT,
    IntakeRecord,
    ParsedBatch,
    RecordError,
    RecordInvalid,
)


def record_from_object(document: object, limits: IntakeLimits) -> IntakeRecord:
    if not isinstance(document, dict):
        raise RecordInvalid(INVALID_RECORD, f"expected a JSON object, not {fields._json_type(document)}.")
    tenant_id = fields._optional_identifier(document, TENANT_FIELD, INVALID_TENANT_ID)
    log_id = fields._optional_identifier(document, LOG_ID_FIELD, INVALID_LOG_ID)
    consumed = {TENANT_FIELD, LOG_ID_FIELD}

    text_field = next((name for name in TEXT_FIELDS if isinstance(document.get(name), str)), None)
    if text_field is None:
        present = [name for name in TEXT_FIELDS if name in document]
        if present:
            raise RecordInvalid(INVALID_TEXT, f"{present[0]} must be a string.")
        raise RecordInvalid(MISSING_TEXT, f"text is required (as one of {', '.join(TEXT_FIELDS)}).")
    text = document[text_field]
    fields.check_text(text, limits, text_field)
    consumed.add(text_field)

    event_time = ""
    for name in TIME_FIELDS:
        if name in document:
            parsed = fields._read_event_time(document[name])
            if parsed is not None:
                event_time = parsed
                consumed.add(name)
                break

    severity = ""
    for name in SEVERITY_FIELDS:
        if name in document:
            parsed_severity = fields._severity(document[name])
            if parsed_severity:
                severity = parsed_severity
                consumed.add(name)
                break

    attributes = bound_attributes(
        {key: value for key, value in document.items() if key not in consumed}, limits
    )
    return IntakeRecord(
        text=text,
        tenant_id=tenant_id,
        log_id=log_id,
        event_time=event_time,
        severity=severity,
        attributes=attributes,
    )


def bound_attributes(candidates: Mapping[str, object], limits: IntakeLimits) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    dropped = truncated = used_bytes = 0
    for key, raw_value in candidates.items():
        if len(kept) >= limits.max_attributes or not fields._valid_key(key, limits):
            dropped += 1
            continue
        value = fields.attribute_value(raw_value)
        if value is fields._UNSTORABLE:
            dropped += 1
            continue
        if type(value) is str:
            if len(value) > limits.max_attribute_value_chars:
                value = value[: limits.max_attribute_value_chars]
                truncated += 1
            size = fields._utf8_length(key) + fields._utf8_length(value)
        else:
            size = fields._utf8_length(key) + _encoded_size(value)
        if used_bytes + size > limits.max_attributes_bytes:
            dropped += 1
            continue
        kept[key] = value
        used_bytes += size
    if dropped:
        kept[DROPPED_ATTRIBUTES] = dropped
    if truncated:
        kept[TRUNCATED_ATTRIBUTES] = truncated
    return kept


def _encoded_size(value: object) -> int:
    if isinstance(value, str):
        return fields._utf8_length(value)
    return len(json.dumps(value))


def parse_ndjson_body(body: bytes, limits: IntakeLimits) -> ParsedBatch:
    """``batch.parse_ndjson_body`` for a body with at least one line, within the count."""
    lines = [(number, line) for number, line in enumerate(body.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1)]
    outcomes: list[IntakeRecord | RecordError] = []
    for index, (number, line) in enumerate((number, line) for number, line in lines if line.strip()):
        where = f"line {number}: "
        try:
            document = load_json(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            outcomes.append(RecordError(index, INVALID_JSON, f"{where}not valid UTF-8 (byte {exc.start})."))
            continue
        except ValueError as exc:
            outcomes.append(RecordError(index, INVALID_JSON, f"{where}malformed JSON: {exc}"))
            continue
        outcomes.append(_outcome(document, index, limits, where))
    return ParsedBatch.collect(outcomes)


def parse_json_array(documents: list, limits: IntakeLimits) -> ParsedBatch:
    """``batch.parse_json_body`` for a body that is a non-empty array within the count."""
    return ParsedBatch.collect([_outcome(item, index, limits) for index, item in enumerate(documents)])


def _outcome(
    document: object, index: int, limits: IntakeLimits, where: str = ""
) -> IntakeRecord | RecordError:
    try:
        return record_from_object(document, limits)
    except RecordInvalid as invalid:
        return RecordError(index, invalid.code, f"{where}{invalid.detail}")


def records_from_request(request, limits: IntakeLimits) -> ParsedBatch:
    """``otlp.records_from_request`` for a request within the count."""
    outcomes: list[IntakeRecord | RecordError] = []
    for resource_number, resource_logs in enumerate(request.resource_logs):
        resource_attributes = otlp._attribute_values(resource_logs.resource.attributes)
        for scope_number, scope_logs in enumerate(resource_logs.scope_logs):
            scope = scope_logs.scope
            scope_attributes: dict[str, Any] = {}
            if scope.name:
                scope_attributes[otlp.SCOPE_NAME_ATTRIBUTE] = scope.name
            if scope.version:
                scope_attributes[otlp.SCOPE_VERSION_ATTRIBUTE] = scope.version
            for key, value in otlp._attribute_values(scope.attributes).items():
                scope_attributes.setdefault(key, value)
            for record_number, log_record in enumerate(scope_logs.log_records):
                where = (
                    f"resourceLogs[{resource_number}].scopeLogs[{scope_number}].logRecords[{record_number}]"
                )
                try:
                    outcomes.append(_otlp_record(log_record, scope_attributes, resource_attributes, limits))
                except RecordInvalid as invalid:
                    outcomes.append(RecordError(len(outcomes), invalid.code, f"{where}: {invalid.detail}"))
    return ParsedBatch.collect(outcomes)


def _otlp_record(
    log_record, scope_attributes: dict, resource_attributes: dict, limits: IntakeLimits
) -> IntakeRecord:
    if not log_record.HasField("body") or log_record.body.WhichOneof("value") is None:
        raise RecordInvalid(MISSING_TEXT, "the LogRecord has no body.")
    body = otlp.any_value(log_record.body)
    text = body if isinstance(body, str) else fields.compact_json(body)
    fields.check_text(text, limits, "body")

    candidates: dict[str, Any] = {}
    for name, raw_id, size in (
        (otlp.TRACE_ID_ATTRIBUTE, log_record.trace_id, otlp.TRACE_ID_BYTES),
        (otlp.SPAN_ID_ATTRIBUTE, log_record.span_id, otlp.SPAN_ID_BYTES),
    ):
        if raw_id:
            if len(raw_id) != size:
                raise RecordInvalid(
                    INVALID_TRACE_ID, f"{name} must be {size} bytes ({size * 2} hex digits) or empty."
                )
            candidates[name] = raw_id.hex()
    for key, value in otlp._attribute_values(log_record.attributes).items():
        candidates.setdefault(key, value)
    log_id = None
    uid = candidates.get(otlp.UID_ATTRIBUTE)
    if isinstance(uid, str) and is_valid_identifier(uid):
        log_id = candidates.pop(otlp.UID_ATTRIBUTE)
    for inherited in (scope_attributes, resource_attributes):
        for key, value in inherited.items():
            candidates.setdefault(key, value)

    return IntakeRecord(
        text=text,
        tenant_id=None,
        log_id=log_id,
        event_time=event_time_from_unix_nano(log_record.time_unix_nano)
        or event_time_from_unix_nano(log_record.observed_time_unix_nano),
        severity=otlp._severity(log_record),
        attributes=bound_attributes(candidates, limits),
    )


def event_time_from_unix_nano(nanoseconds: int) -> str:
    if nanoseconds <= 0:
        return ""
    return fields._utc_text(fields._EPOCH, nanoseconds // 1000) or ""
