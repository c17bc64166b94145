"""``run_worker --metrics-port``: the worker's metrics on a small HTTP port of its own.

The worker serves no HTTP otherwise, so it gets a tiny threaded server in a daemon
thread: ``GET /metrics`` (any path, as Prometheus' own client does) answers the
Prometheus text of this process's metrics plus the queue gauges. It binds
127.0.0.1 unless told otherwise (``--metrics-host``): a scraper next to the worker
(a sidecar, the node's agent) reads it; nothing outside does.
"""

from __future__ import annotations

import logging
import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import connections
from prometheus_client import make_wsgi_app

from dataproc_site.observability.exposition import scrape_registry

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """Scrapes every few seconds are not worth a stderr line each."""

    def log_message(self, format: str, *args) -> None:
        pass


def _app():
    metrics_app = make_wsgi_app(scrape_registry())

    def app(environ, start_response):
        try:
            return metrics_app(environ, start_response)
        finally:
            # The queue gauges may have opened a database connection in this
            # short-lived request thread; it would never be closed otherwise.
            connections.close_all()

    return app


class MetricsServer:
    """A started metrics HTTP server; ``stop()`` closes it."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0) -> None:
        server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
        self._httpd = make_server(host, port, _app(), server_class=server_class, handler_class=_QuietHandler)
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics-server", daemon=True)
        self._thread.start()
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
