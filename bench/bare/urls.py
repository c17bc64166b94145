"""The ceilings' routes: the single-log view is the service's in-settings ceiling, here without the service."""

from django.urls import path

from bench.bare.views import DurableBatchView
from bench.ceiling import CeilingView

urlpatterns = [
    path("bench/ceiling", CeilingView.as_view()),
    path("bench/durable-batch", DurableBatchView.as_view()),
]
