"""Shapes of the intake's bodies, for the OpenAPI schema.

Bodies are parsed by the format layer (``ingest.formats``), not by serializers;
what is here only describes them, with patterns that mirror the parsers so
generated clients and fuzzers produce what the API accepts.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from dataproc_site.api.schema import IDENTIFIER_SCHEMA, IdentifierField
from ingest.formats.fields import SEVERITY_FIELDS, TEXT_FIELDS, TIME_FIELDS
from ingest.formats.records import RECORD_ERROR_CODES

# Not blank, and no NUL (ingest.formats.fields.check_text).
TEXT_PATTERN = r"^[^\u0000]*\S[^\u0000]*$"

TEXT_SCHEMA = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}

LOG_OBJECT_SCHEMA = {
    "type": "object",
    "description": (
        "One log. The text is the first string of text, message, log, msg, body (at most "
        "INGEST_MAX_TEXT_CHARS characters); every field not named here is kept as an attribute."
    ),
    "properties": {
        "tenant_id": {**IDENTIFIER_SCHEMA, "description": "Optional when the key or X-Tenant-ID names it."},
        "log_id": {**IDENTIFIER_SCHEMA, "description": "Optional: a UUID4 is generated and returned."},
        **{name: {**TEXT_SCHEMA, "description": "The log text."} for name in TEXT_FIELDS},
        **{
            name: {
                "description": "The event time: RFC 3339, or epoch seconds, ms, us or ns.",
                "oneOf": [{"type": "string"}, {"type": "number"}],
            }
            for name in TIME_FIELDS
        },
        **{
            name: {"description": "The severity.", "oneOf": [{"type": "string"}, {"type": "integer"}]}
            for name in SEVERITY_FIELDS
        },
    },
    "anyOf": [{"required": [name]} for name in TEXT_FIELDS],
    "additionalProperties": True,
}

INGEST_JSON_SCHEMA = {
    "oneOf": [
        LOG_OBJECT_SCHEMA,
        {
            "type": "array",
            "description": "A batch: at most INGEST_MAX_BATCH_LINES (default 1,000) log objects.",
            "items": LOG_OBJECT_SCHEMA,
            "minItems": 1,
        },
    ]
}

NDJSON_SCHEMA = {
    "type": "string",
    "description": (
        "One JSON log object per line (as application/json's), at most INGEST_MAX_BATCH_LINES "
        "(default 1,000) lines; blank lines are skipped. A line that is not a valid log is "
        "rejected on its own (partial success)."
    ),
    "pattern": r"\{",
}

OTLP_JSON_REQUEST_SCHEMA = {
    "type": "object",
    "description": "An ExportLogsServiceRequest in the OTLP JSON mapping (lowerCamelCase, hex trace ids).",
    "properties": {"resourceLogs": {"type": "array", "items": {"type": "object"}}},
}

BINARY_SCHEMA = {"type": "string", "format": "binary"}


@extend_schema_field({"type": "string", "enum": ["accepted"]})
class AcceptedStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": list(RECORD_ERROR_CODES)})
class RecordErrorCodeField(serializers.CharField):
    pass


class AcceptedItemSerializer(serializers.Serializer):
    tenant_id = IdentifierField()
    log_id = IdentifierField()
    message_id = serializers.CharField(help_text="The queue's id for the message.")


class AcceptedSerializer(AcceptedItemSerializer):
    """202 for one log (a JSON object or text/plain)."""

    status = AcceptedStatusField()


class RecordErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(min_value=0, help_text="The record's position in the batch, from 0.")
    error = RecordErrorCodeField(help_text="Why it was rejected.")
    detail = serializers.CharField(help_text="What is wrong, for people (NDJSON: with its line number).")


class BatchAcceptedSerializer(serializers.Serializer):
    """202 for a batch (JSON array, NDJSON): the valid records were queued, in order; the others are listed."""

    status = AcceptedStatusField()
    accepted = serializers.IntegerField(min_value=1, help_text="How many logs were queued.")
    rejected = serializers.IntegerField(min_value=0, help_text="How many records were rejected.")
    items = AcceptedItemSerializer(many=True)
    errors = RecordErrorSerializer(many=True)


class BatchErrorSerializer(serializers.Serializer):
    """An error; for a batch none of whose records was valid, each record's error too."""

    error = serializers.CharField(help_text="A stable machine-readable code, e.g. invalid_request.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    errors = RecordErrorSerializer(
        many=True, required=False, help_text="A batch with no valid record: why each was rejected."
    )


ACCEPTED_RESPONSE_SCHEMA = PolymorphicProxySerializer(
    component_name="IngestAccepted",
    serializers=[AcceptedSerializer, BatchAcceptedSerializer],
    resource_type_field_name=None,
)

INGEST_REFUSED_RESPONSE = OpenApiResponse(
    response=BatchErrorSerializer,
    description=(
        "Malformed or invalid upload (the detail names the field, or the line of NDJSON); a batch "
        "with no valid record lists each record's error."
    ),
)

# --- /v1/logs: OTLP's own messages, in the OTLP JSON mapping or binary protobuf -------------

EXPORT_LOGS_RESPONSE_SCHEMA = {
    "type": "object",
    "description": "ExportLogsServiceResponse: partialSuccess only when records were rejected.",
    "properties": {
        "partialSuccess": {
            "type": "object",
            "properties": {
                "rejectedLogRecords": {
                    "oneOf": [{"type": "string", "pattern": "^[0-9]+$"}, {"type": "integer"}]
                },
                "errorMessage": {"type": "string"},
            },
        }
    },
}

STATUS_SCHEMA = {
    "type": "object",
    "description": "google.rpc.Status: a gRPC code, a message, and details (RetryInfo, BadRequest).",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}

_OTLP_ERRORS = {
    400: "Not an ExportLogsServiceRequest, no X-Tenant-ID in open mode, or no valid LogRecord (BadRequest details).",
    401: "INGEST_AUTH=api_key: no API key, or an unknown, revoked or expired one.",
    403: "The key belongs to another tenant than X-Tenant-ID, or the tenant is inactive.",
    413: "Body over INGEST_MAX_BODY_BYTES (or INGEST_MAX_DECOMPRESSED_BYTES decoded), or more LogRecords "
    "than INGEST_MAX_BATCH_LINES or than the tenant's whole rate.",
    415: "Content-Type other than application/x-protobuf or application/json, or an unknown Content-Encoding.",
    429: "The tenant is over its logs per minute; see Retry-After (and the Status's RetryInfo).",
    503: "The queue is unavailable; nothing was accepted; see Retry-After.",
}


def _otlp_responses() -> dict:
    responses: dict = {
        (200, "application/json"): OpenApiResponse(
            response=EXPORT_LOGS_RESPONSE_SCHEMA,
            description="Queued (partialSuccess: some records rejected).",
        ),
        (200, "application/x-protobuf"): OpenApiResponse(
            response=OpenApiTypes.BINARY, description="ExportLogsServiceResponse, binary protobuf."
        ),
    }
    for status, description in _OTLP_ERRORS.items():
        responses[(status, "application/json")] = OpenApiResponse(
            response=STATUS_SCHEMA, description=description
        )
        responses[(status, "application/x-protobuf")] = OpenApiResponse(
            response=OpenApiTypes.BINARY, description=description
        )
    return responses


OTLP_RESPONSES = _otlp_responses()
