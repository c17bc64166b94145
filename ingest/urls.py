"""The intake's routes."""

from django.urls import path

from ingest.views import IngestView

urlpatterns: list = [
    path("ingest", IngestView.as_view(), name="ingest"),
]
