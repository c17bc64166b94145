"""The probes' response bodies, for the OpenAPI schema."""

from rest_framework import serializers

from dataproc_site.api.schema import ErrorSerializer, OkStatusField


class HealthSerializer(serializers.Serializer):
    status = OkStatusField()


class ReadyChecksSerializer(serializers.Serializer):
    queue = serializers.CharField(help_text='"ok" or the code of why the queue is unavailable.')
    store = serializers.CharField(help_text='"ok" or the code of why the store is unavailable.')


class ReadySerializer(serializers.Serializer):
    status = OkStatusField()
    checks = ReadyChecksSerializer()


class NotReadySerializer(ErrorSerializer):
    checks = ReadyChecksSerializer()
