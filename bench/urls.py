"""Production URLs plus ``/bench/ceiling``: never routed outside a benchmark run."""

from django.urls import path

from bench.ceiling import CeilingView
from dataproc_site.urls import urlpatterns as service_urlpatterns

urlpatterns = [
    path("bench/ceiling", CeilingView.as_view(), name="bench-ceiling"),
    *service_urlpatterns,
]
