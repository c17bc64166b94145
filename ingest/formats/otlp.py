"""OTLP/HTTP logs (``POST /v1/logs``): requests in, responses out, with the generated OTLP classes.

Requests: ``application/x-protobuf`` (binary ``ExportLogsServiceRequest``) or
``application/json`` (the OTLP JSON mapping: protobuf's JSON mapping with
lowerCamelCase keys, integer enums, int64 as string or number, unknown fields
ignored, except that ``traceId`` / ``spanId`` are hex, not base64). Protobuf's
``json_format`` does the decoding once the ids are turned into its base64; it
also takes the proto field names and enum names, which OTLP senders must not
use but which do no harm.

One LogRecord is one record, indexed across the whole request (resourceLogs,
then scopeLogs, then logRecords, 0-based):

- text: the body when it is a string; any other kind of body as compact JSON
  (bytes as base64, as in the JSON mapping); no body is ``missing_text``.
- log id: the ``log.record.uid`` attribute when it is a valid identifier (it is
  then not kept as an attribute); else None, generated later. No tenant: the
  tenant comes from the API key (or X-Tenant-ID in open mode).
- attributes: the record's, ``trace_id`` and ``span_id`` (hex) when set, then the
  scope's (with ``otel.scope.name`` / ``otel.scope.version``), then the resource's.
  On a key collision the most specific wins (record over scope over resource, and
  the record's own trace and span ids over an attribute of that name); within one
  attribute list the first occurrence of a key wins. The bounds of
  ``fields.bound_attributes`` apply in that order, so what is dropped first is
  resource detail. Values: AnyValue scalars as JSON scalars, arrays and maps as
  compact JSON text, bytes as base64.
- severity: ``severity_text``, else the name of ``severity_number`` (``INFO``,
  ``WARN2``, ...); event time: ``time_unix_nano``, else ``observed_time_unix_nano``.
- a trace id that is not 16 bytes (32 hex digits) or a span id that is not 8 bytes
  is ``invalid_trace_id``.

Responses (OTLP specification, "OTLP/HTTP Response"): success is 200 with an
``ExportLogsServiceResponse`` whose ``partial_success`` is set only when records
were rejected; failures are 4xx/5xx with a ``google.rpc.Status``; both in the
request's encoding, with its Content-Type.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber

from core.errors import ApiError, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from core.identifiers import is_valid_identifier
from ingest.formats.batch import load_json
from ingest.formats.fields import (
    SEVERITY_MAX_CHARS,
    bound_attributes,
    check_text,
    compact_json,
    event_time_from_unix_nano,
)
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import (
    INVALID_TRACE_ID,
    MISSING_TEXT,
    IntakeRecord,
    ParsedBatch,
    RecordError,
    RecordInvalid,
    intake_record,
)

MEDIA_PROTOBUF = "application/x-protobuf"
MEDIA_JSON = "application/json"
MEDIA_TYPES = (MEDIA_PROTOBUF, MEDIA_JSON)

UID_ATTRIBUTE = "log.record.uid"
TRACE_ID_ATTRIBUTE = "trace_id"
SPAN_ID_ATTRIBUTE = "span_id"
SCOPE_NAME_ATTRIBUTE = "otel.scope.name"
SCOPE_VERSION_ATTRIBUTE = "otel.scope.version"
TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8

_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})*")
# Stands in for an id that is not hex, so the length check names it like any wrong id.
_NOT_HEX = base64.b64encode(b"\x00").decode("ascii")
_SEVERITY_PREFIX = "SEVERITY_NUMBER_"
# How the errors of this API map onto gRPC codes in a Status (OTLP lets servers omit
# the code; clients only log it). Retryability is the HTTP status's, not this.
_GRPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    503: code_pb2.UNAVAILABLE,
}
_ERRORS_IN_MESSAGE = 5


# -- requests ------------------------------------------------------------------------------


def parse_export_request(body: bytes, media_type: str, limits: IntakeLimits) -> ParsedBatch:
    """The records of a decoded ``/v1/logs`` body; 400 when it is not a request, 413 past max_batch_lines."""
    return records_from_request(decode_request(body, media_type), limits)


def decode_request(body: bytes, media_type: str) -> ExportLogsServiceRequest:
    """The ``ExportLogsServiceRequest`` in ``body``, binary protobuf or OTLP JSON by ``media_type``."""
    if media_type == MEDIA_PROTOBUF:
        try:
            return ExportLogsServiceRequest.FromString(body)
        except DecodeError as exc:
            raise InvalidRequest(f"The body is not a protobuf ExportLogsServiceRequest: {exc}.") from None
    if media_type == MEDIA_JSON:
        return _request_from_json(body)
    raise UnsupportedMediaType(
        f"Content-Type {media_type!r} is not accepted on /v1/logs; use {' or '.join(MEDIA_TYPES)}."
    )


def records_from_request(request: ExportLogsServiceRequest, limits: IntakeLimits) -> ParsedBatch:
    count = sum(len(scope.log_records) for resource in request.resource_logs for scope in resource.scope_logs)
    if count > limits.max_batch_lines:
        raise PayloadTooLarge(
            f"The request has {count} log records; the limit is {limits.max_batch_lines} per request."
        )
    items: list[tuple[int, IntakeRecord]] = []
    errors: list[RecordError] = []
    index = 0
    for resource_number, resource_logs in enumerate(request.resource_logs):
        resource_attributes = _attribute_values(resource_logs.resource.attributes)
        for scope_number, scope_logs in enumerate(resource_logs.scope_logs):
            inherited = _inherited_attributes(scope_logs.scope, resource_attributes)
            for record_number, log_record in enumerate(scope_logs.log_records):
                try:
                    items.append((index, _record(log_record, inherited, limits)))
                except RecordInvalid as invalid:
                    where = f"resourceLogs[{resource_number}].scopeLogs[{scope_number}].logRecords[{record_number}]"
                    errors.append(RecordError(index, invalid.code, f"{where}: {invalid.detail}"))
                index += 1
    return ParsedBatch(items=tuple(items), errors=tuple(errors))


def _inherited_attributes(scope: InstrumentationScope, resource_attributes: dict[str, Any]) -> dict[str, Any]:
    """What each record of a scope inherits, in order: the scope's name, version and attributes, then the resource's."""
    inherited: dict[str, Any] = {}
    if scope.name:
        inherited[SCOPE_NAME_ATTRIBUTE] = scope.name
    if scope.version:
        inherited[SCOPE_VERSION_ATTRIBUTE] = scope.version
    for key, value in _attribute_values(scope.attributes).items():
        inherited.setdefault(key, value)
    for key, value in resource_attributes.items():
        inherited.setdefault(key, value)
    return inherited


def _request_from_json(body: bytes) -> ExportLogsServiceRequest:
    try:
        document = load_json(body.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    except ValueError as exc:
        raise InvalidRequest(f"malformed JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidRequest("expected an OTLP JSON ExportLogsServiceRequest object.")
    for log_record in _json_log_records(document):
        for key in ("traceId", "trace_id", "spanId", "span_id"):
            if isinstance(log_record.get(key), str):
                log_record[key] = _hex_to_base64(log_record[key])
    try:
        return json_format.ParseDict(document, ExportLogsServiceRequest(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InvalidRequest(f"The body is not an OTLP JSON ExportLogsServiceRequest: {exc}") from None


def _json_log_records(document: dict):
    """The LogRecord objects of an OTLP JSON request, where the structure is as expected."""
    for resource_logs in _json_list(document, "resourceLogs", "resource_logs"):
        for scope_logs in _json_list(resource_logs, "scopeLogs", "scope_logs"):
            yield from _json_list(scope_logs, "logRecords", "log_records")


def _json_list(parent: object, *names: str) -> list[dict]:
    if not isinstance(parent, dict):
        return []
    for name in names:
        value = parent.get(name)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    return []


def _hex_to_base64(text: str) -> str:
    if not _HEX_RE.fullmatch(text):
        return _NOT_HEX
    return base64.b64encode(bytes.fromhex(text)).decode("ascii")


def _record(log_record: LogRecord, inherited: dict[str, Any], limits: IntakeLimits) -> IntakeRecord:
    """One LogRecord as a record; the attribute accesses and calls per record kept to what it needs.

    A string body (what the SDKs send) and string attributes are read without
    ``any_value``'s dispatch; the scope's and resource's attributes come merged once
    per scope (``_inherited_attributes``) and are added in one update when no key
    of the record's own collides with them.
    """
    body = log_record.body
    kind = body.WhichOneof("value")
    if kind == "string_value":
        text = body.string_value
    elif kind is None:
        raise RecordInvalid(MISSING_TEXT, "the LogRecord has no body.")
    else:
        value = any_value(body)
        text = value if isinstance(value, str) else compact_json(value)
    check_text(text, limits, "body")

    candidates: dict[str, Any] = {}
    trace_id, span_id = log_record.trace_id, log_record.span_id
    if trace_id:
        candidates[TRACE_ID_ATTRIBUTE] = _hex_id(trace_id, TRACE_ID_ATTRIBUTE, TRACE_ID_BYTES)
    if span_id:
        candidates[SPAN_ID_ATTRIBUTE] = _hex_id(span_id, SPAN_ID_ATTRIBUTE, SPAN_ID_BYTES)
    for attribute in log_record.attributes:
        key = attribute.key
        if key not in candidates:
            value = attribute.value
            candidates[key] = (
                value.string_value if value.WhichOneof("value") == "string_value" else any_value(value)
            )
    log_id = None
    uid = candidates.get(UID_ATTRIBUTE)
    if isinstance(uid, str) and is_valid_identifier(uid):
        log_id = candidates.pop(UID_ATTRIBUTE)
    if candidates.keys().isdisjoint(inherited):
        candidates.update(inherited)
    else:
        for key, value in inherited.items():
            candidates.setdefault(key, value)

    return intake_record(
        text,
        None,
        log_id,
        event_time_from_unix_nano(log_record.time_unix_nano)
        or event_time_from_unix_nano(log_record.observed_time_unix_nano),
        _severity(log_record),
        bound_attributes(candidates, limits),
    )


def _hex_id(raw_id: bytes, name: str, size: int) -> str:
    if len(raw_id) != size:
        raise RecordInvalid(
            INVALID_TRACE_ID, f"{name} must be {size} bytes ({size * 2} hex digits) or empty."
        )
    return raw_id.hex()


def _severity(log_record: LogRecord) -> str:
    text = log_record.severity_text.strip()
    if text:
        return text[:SEVERITY_MAX_CHARS]
    number = log_record.severity_number
    if number == SeverityNumber.SEVERITY_NUMBER_UNSPECIFIED:
        return ""
    try:
        return SeverityNumber.Name(number).removeprefix(_SEVERITY_PREFIX)
    except ValueError:  # a number this version of the protocol does not name
        return str(number)


def _attribute_values(attributes: Sequence[KeyValue]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attribute in attributes:
        values.setdefault(attribute.key, any_value(attribute.value))
    return values


def any_value(value: AnyValue) -> Any:
    """An AnyValue as plain JSON-able Python (bytes as base64, non-finite doubles as text)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        mapping: dict[str, Any] = {}
        for item in value.kvlist_value.values:
            mapping.setdefault(item.key, any_value(item.value))
        return mapping
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    scalar = getattr(value, kind)
    if isinstance(scalar, float) and not math.isfinite(scalar):
        return str(scalar)
    return scalar


# -- responses -----------------------------------------------------------------------------


def response_media_type(request_media_type: str | None) -> str:
    """The Content-Type of the answer: the request's; JSON for anything but protobuf (a person with curl)."""
    return MEDIA_PROTOBUF if request_media_type == MEDIA_PROTOBUF else MEDIA_JSON


def export_response(media_type: str, batch: ParsedBatch | None = None) -> bytes:
    """The 200 body: ``partial_success`` only when records were rejected (the specification's rule)."""
    response = ExportLogsServiceResponse()
    if batch is not None and batch.rejected:
        response.partial_success.rejected_log_records = batch.rejected
        response.partial_success.error_message = rejection_message(batch)
    return _encode(response, media_type)


def rejection_message(batch: ParsedBatch) -> str:
    """English for ``error_message``: how many, and the first few reasons with their records."""
    shown = "; ".join(error.detail for error in batch.errors[:_ERRORS_IN_MESSAGE])
    more = batch.rejected - _ERRORS_IN_MESSAGE
    suffix = f"; and {more} more" if more > 0 else ""
    return f"{batch.rejected} of {batch.total} log records rejected: {shown}{suffix}."


def status_body(
    media_type: str,
    http_status: int,
    message: str,
    *,
    retry_after_seconds: int | None = None,
    errors: Sequence[RecordError] = (),
) -> bytes:
    """A ``google.rpc.Status`` for an error answer.

    ``retry_after_seconds`` (429, 503) adds a ``RetryInfo``; ``errors`` (a 400 whose
    records were all rejected) a ``BadRequest`` with one violation per record, as the
    specification asks for bad data.
    """
    status = status_pb2.Status(code=_GRPC_CODES.get(http_status, code_pb2.UNKNOWN), message=message)
    if retry_after_seconds is not None:
        retry_info = error_details_pb2.RetryInfo()
        retry_info.retry_delay.seconds = int(retry_after_seconds)
        status.details.add().Pack(retry_info)
    if errors:
        bad_request = error_details_pb2.BadRequest()
        for error in errors:
            violation = bad_request.field_violations.add()
            violation.field = _violation_field(error)
            violation.description = f"{error.error}: {error.detail}"
        status.details.add().Pack(bad_request)
    return _encode(status, media_type)


def error_status_body(error: ApiError, media_type: str, errors: Sequence[RecordError] = ()) -> bytes:
    """``status_body`` for one of the API's errors: its status, detail and Retry-After."""
    retry_after = error.headers.get("Retry-After")
    return status_body(
        media_type,
        error.status_code,
        str(error.detail),
        retry_after_seconds=int(retry_after) if retry_after and retry_after.isdigit() else None,
        errors=errors,
    )


def _violation_field(error: RecordError) -> str:
    location, separator, _ = error.detail.partition(": ")
    return location if separator and location.startswith("resourceLogs[") else f"logRecords[{error.index}]"


def _encode(message, media_type: str) -> bytes:
    if media_type == MEDIA_PROTOBUF:
        return message.SerializeToString()
    return json.dumps(json_format.MessageToDict(message), separators=(",", ":")).encode("utf-8")
