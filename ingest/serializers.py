"""Shapes of the intake's bodies, for the OpenAPI schema.

Uploads are validated by ``ingest.uploads`` (faster, and exact about line numbers);
the request serializers here only describe them, with patterns that mirror
``ingest.uploads.text_error`` so generated clients and fuzzers produce what the
API accepts.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dataproc_site.api.schema import IdentifierField

# Not blank, and no NUL (ingest.uploads.text_error).
TEXT_PATTERN = r"^[^\u0000]*\S[^\u0000]*$"

TEXT_SCHEMA = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}


@extend_schema_field(TEXT_SCHEMA)
class LogTextField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["accepted"]})
class AcceptedStatusField(serializers.CharField):
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
