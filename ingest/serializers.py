"""Shapes of the API's JSON bodies, for the OpenAPI schema and the read API's output.

Uploads are validated by ``ingest.uploads`` (faster, and exact about line numbers);
the request serializers here only describe them. The patterns below mirror
``core.identifiers`` and ``ingest.uploads.text_error`` so generated clients and
fuzzers produce what the API accepts.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.envelope import SOURCES
from core.identifiers import IDENTIFIER_MAX_LENGTH
from core.records import STATUSES

# 1-128 of [A-Za-z0-9._:-], not "." or "..", not "__name__" (core.identifiers).
IDENTIFIER_PATTERN = r"^(?!\.{1,2}$)(?!__.*__$)[A-Za-z0-9._:-]{1,128}$"
# Not blank, and no NUL (ingest.uploads.text_error).
TEXT_PATTERN = r"^[^\u0000]*\S[^\u0000]*$"

IDENTIFIER_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": IDENTIFIER_MAX_LENGTH,
    "pattern": IDENTIFIER_PATTERN,
}
TEXT_SCHEMA = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}


@extend_schema_field(IDENTIFIER_SCHEMA)
class IdentifierField(serializers.CharField):
    pass


@extend_schema_field(TEXT_SCHEMA)
class LogTextField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["accepted"]})
class AcceptedStatusField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["ok"]})
class OkStatusField(serializers.CharField):
    pass


class IngestLogSerializer(serializers.Serializer):
    """One log: the body of an ``application/json`` upload and each line of a batch."""

    tenant_id = IdentifierField(help_text="The tenant the log belongs to.")
    log_id = IdentifierField(help_text="The log's id, unique within the tenant.")
    text = LogTextField(help_text="The log text (UTF-8).")


class AcceptedItemSerializer(serializers.Serializer):
    tenant_id = IdentifierField()
    log_id = IdentifierField()
    message_id = serializers.CharField(help_text="The queue's id for the message.")


class AcceptedSerializer(AcceptedItemSerializer):
    """202 for one log (JSON or text/plain)."""

    status = AcceptedStatusField()


class BatchAcceptedSerializer(serializers.Serializer):
    """202 for an NDJSON batch: every line was queued, in order."""

    status = AcceptedStatusField()
    accepted = serializers.IntegerField(min_value=1, help_text="How many logs were queued.")
    items = AcceptedItemSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable machine-readable code, e.g. invalid_request.")
    detail = serializers.CharField(help_text="What went wrong, for people.")


class LogRecordSerializer(serializers.Serializer):
    """A stored log as its tenant sees it: redacted text only, never the original."""

    tenant_id = serializers.CharField()
    log_id = serializers.CharField()
    source = serializers.ChoiceField(choices=SOURCES)
    status = serializers.ChoiceField(choices=STATUSES)
    modified_data = serializers.CharField(
        allow_null=True, help_text="The redacted text; null until the log is processed."
    )
    attempts = serializers.IntegerField(min_value=0)
    last_error = serializers.CharField(allow_blank=True)
    received_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    message_id = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(allow_blank=True)


class LogPageSerializer(serializers.Serializer):
    items = LogRecordSerializer(many=True)
    next = serializers.CharField(
        allow_null=True, help_text="Pass as ?cursor= for the next (older) page; null on the last page."
    )


class HealthSerializer(serializers.Serializer):
    status = OkStatusField()


class ReadyChecksSerializer(serializers.Serializer):
    queue = serializers.CharField(help_text='"ok" or why the queue is unavailable.')
    store = serializers.CharField(help_text='"ok" or why the store is unavailable.')


class ReadySerializer(serializers.Serializer):
    status = OkStatusField()
    checks = ReadyChecksSerializer()


class NotReadySerializer(ErrorSerializer):
    checks = ReadyChecksSerializer()
