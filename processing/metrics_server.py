"""``run_worker --metrics-port``: the worker's metrics on a small HTTP port of its own.

prometheus-client's own server (``start_http_server``, a daemon thread) answers
``GET /metrics`` with this process's metrics plus the queue gauges. It binds
127.0.0.1 unless told otherwise (``--metrics-host``): a scraper next to the worker
(a sidecar, the node's agent) reads it; nothing outside does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connections
from prometheus_client import start_http_server
from prometheus_client.core import Metric

from dataproc_site.observability.exposition import scrape_registry

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"


class _ClosingConnections:
    """The scrape registry, closing the database connection the queue gauges opened.

    Each scrape runs on a short-lived thread of the server; a connection it opened
    would otherwise stay open until the thread object is collected.
    """

    def __init__(self) -> None:
        self._registry = scrape_registry()

    def collect(self) -> Iterable[Metric]:
        try:
            yield from self._registry.collect()
        finally:
            connections.close_all()


class MetricsServer:
    """A started metrics HTTP server; ``stop()`` closes it."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._httpd, self._thread = start_http_server(port, addr=host, registry=_ClosingConnections())
        self.host = host
        self.port = self._httpd.server_address[1]
        logger.info("worker metrics served", extra={"metrics_host": host, "metrics_port": self.port})

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def start_metrics_server(port: int, host: str = DEFAULT_HOST) -> MetricsServer:
    """Serve the worker's metrics on ``host:port`` (port 0: any free port) until stopped."""
    return MetricsServer(host=host, port=port)
