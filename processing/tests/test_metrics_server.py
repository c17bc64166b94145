import urllib.request

import pytest
from django.test import override_settings

from dataproc_site.observability import metrics
from dataproc_site.observability.exposition import queue_stats
from processing.metrics_server import start_metrics_server
from processing.queues import reset_queue


@pytest.fixture
def server():
    queue_stats.reset()
    server = start_metrics_server(port=0)
    yield server
    server.stop()
    queue_stats.reset()


def fetch(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_it_binds_loopback_by_default(server):
    assert server.host == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}/metrics"


@override_settings(QUEUE_BACKEND="tests.doubles.BusyQueue")
def test_it_serves_the_worker_metrics_and_queue_gauges_as_prometheus_text(server):
    reset_queue()
    metrics.record_lease_expired()

    status, content_type, text = fetch(server.url)

    assert status == 200
    assert content_type.startswith("text/plain")
    assert "# TYPE dataproc_worker_logs_total counter" in text
    assert "dataproc_worker_lease_expiries_total" in text
    assert 'dataproc_queue_depth{backend="tests.doubles.BusyQueue"} 42.0' in text


@pytest.mark.django_db
@override_settings(QUEUE_BACKEND="tests.doubles.BusyQueue")
def test_the_numbers_move_between_scrapes(server):
    reset_queue()
    line = 'dataproc_worker_logs_total{outcome="processed",tenant="other"}'

    def processed(text: str) -> float:
        for row in text.splitlines():
            if row.startswith(line):
                return float(row.split()[-1])
        return 0.0

    before = processed(fetch(server.url)[2])
    metrics.record_outcome("unregistered-tenant", metrics.OUTCOME_PROCESSED)

    assert processed(fetch(server.url)[2]) == before + 1
