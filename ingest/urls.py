"""The intake's routes."""

from django.urls import path

from ingest.views import IngestView, OtlpLogsView

urlpatterns: list = [
    path("ingest", IngestView.as_view(), name="ingest"),
    path("v1/logs", OtlpLogsView.as_view(), name="otlp-logs"),
]
