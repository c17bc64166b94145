"""The API's views, one module per resource."""

from ingest.views.health import HealthView, ReadyView
from ingest.views.ingest import IngestView
from ingest.views.logs import LogDetailView, LogListView

__all__ = ["HealthView", "IngestView", "LogDetailView", "LogListView", "ReadyView"]
