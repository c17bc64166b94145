"""The read API's bodies: a stored log as its tenant sees it, and a page of them."""

from __future__ import annotations

from rest_framework import serializers

from core.envelope import SOURCES
from core.records import STATUSES


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
    event_time = serializers.DateTimeField(
        allow_null=True,
        help_text="When the log says it happened (its own timestamp field); null if it did not say.",
    )
    severity = serializers.CharField(allow_blank=True, help_text="The log's level or severity, as sent.")
    attributes = serializers.DictField(
        help_text=(
            "The log's other fields (redacted like the text), bounded in number and size; "
            "empty until the log is processed, as they are unredacted until then."
        )
    )

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        if instance.modified_data is None:
            # Like original_text: what the client sent is never returned before redaction.
            data["attributes"] = {}
        return data


class LogPageSerializer(serializers.Serializer):
    items = LogRecordSerializer(many=True)
    next = serializers.CharField(
        allow_null=True, help_text="Pass as ?cursor= for the next (older) page; null on the last page."
    )
