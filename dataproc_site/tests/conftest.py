import io
import json
import logging

import pytest

from dataproc_site.logging import JsonFormatter
from dataproc_site.observability.exposition import queue_stats
from dataproc_site.observability.tenant_labels import tenant_labels


@pytest.fixture
def log_lines():
    """Every line the root logger writes through the JSON formatter, parsed (fails on invalid JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture(autouse=True)
def fresh_metric_caches():
    """Tenants and queue stats differ per test: no cached label set or stats survive one."""
    tenant_labels.invalidate()
    queue_stats.reset()
    yield
    tenant_labels.invalidate()
    queue_stats.reset()
