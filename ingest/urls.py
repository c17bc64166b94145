"""Public API routes."""

from django.urls import path

from ingest import schema  # noqa: F401 - registers the OpenAPI authentication extension
from ingest.push import pubsub_push
from ingest.views import HealthView, IngestView, LogDetailView, LogListView, ReadyView

urlpatterns: list = [
    path("ingest", IngestView.as_view(), name="ingest"),
    path("logs", LogListView.as_view(), name="log-list"),
    path("logs/<str:log_id>", LogDetailView.as_view(), name="log-detail"),
    path("health", HealthView.as_view(), name="health"),
    path("ready", ReadyView.as_view(), name="ready"),
    path("pubsub/push", pubsub_push, name="pubsub-push"),
]
