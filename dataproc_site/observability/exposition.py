"""What a scrape returns: the recorded metrics plus queue gauges read at scrape time.

Shared by the API's ``/metrics`` view and ``run_worker --metrics-port``. Under
gunicorn's several processes (``PROMETHEUS_MULTIPROC_DIR`` set) the recorded
metrics come from every process's files, merged; otherwise from this process.
Queue depth (in total and per tenant) and oldest-message age are not recorded anywhere: they are asked of
the queue backend when Prometheus scrapes, at most every METRICS_QUEUE_STATS_SECONDS,
so several scrapers (or both endpoints) cost one query. The queue app hands its
stats function over (``queue_stats.set_source``) from its ``ready()``: this package
imports no app.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from dataproc_site.observability.tenant_labels import tenant_label

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class QueueStatsCollector:
    """Gauges from ``get_queue().stats()``: only the values the backend can tell.

    The database queue knows its depth and oldest message exactly. Pub/Sub does
    not tell a subscriber; in production those numbers come from Cloud Monitoring
    (``pubsub.googleapis.com/subscription/num_undelivered_messages`` and
    ``oldest_unacked_message_age``), so here the gauges are simply absent.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached = None
        self._cached_at: float | None = None
        self._source: Callable[[], object] | None = None

    def set_source(self, source: Callable[[], object]) -> None:
        """Where the stats come from: a callable answering the queue backend's ``stats()``."""
        self._source = source

    def _stats(self):
        ttl = float(getattr(settings, "METRICS_QUEUE_STATS_SECONDS", 5.0))
        with self._lock:
            now = time.monotonic()
            if self._cached_at is None or now - self._cached_at >= ttl:
                try:
                    if self._source is None:
                        raise RuntimeError("no queue stats source registered")
                    self._cached = self._source()
                except Exception:
                    logger.warning("queue stats unavailable for /metrics", exc_info=True)
                    self._cached = None
                self._cached_at = now
            return self._cached

    def collect(self) -> Iterable[Metric]:
        stats = self._stats()
        backend = str(getattr(settings, "QUEUE_BACKEND", ""))
        yield GaugeMetricFamily(
            "dataproc_queue_stats_up",
            "1 if the queue backend answered the last stats query, 0 if it failed.",
            value=0 if stats is None else 1,
        )
        yield from self._depth_limits()
        if stats is None:
            return
        by_tenant = getattr(stats, "depth_by_tenant", None)
        if by_tenant is not None:
            # Label values bounded: known tenants by name, the rest summed as "other".
            per_label: dict[str, float] = {}
            for tenant_id, queued in by_tenant.items():
                label = tenant_label(tenant_id)
                per_label[label] = per_label.get(label, 0.0) + float(queued)
            family = GaugeMetricFamily(
                "dataproc_queue_tenant_depth",
                "Messages in the queue per tenant (waiting, delayed or leased); tenants with none absent.",
                labels=["backend", "tenant"],
            )
            for label, queued in sorted(per_label.items()):
                family.add_metric([backend, label], queued)
            yield family
        for name, help_text, value in (
            ("dataproc_queue_depth", "Messages waiting in the queue (not yet acknowledged).", stats.depth),
            (
                "dataproc_queue_oldest_message_age_seconds",
                "Age of the oldest message still in the queue.",
                stats.oldest_age_seconds,
            ),
            ("dataproc_queue_dead_lettered", "Messages set aside as dead letters.", stats.dead_lettered),
        ):
            if value is not None:
                family = GaugeMetricFamily(name, help_text, labels=["backend"])
                family.add_metric([backend], float(value))
                yield family

    @staticmethod
    def _depth_limits() -> Iterable[Metric]:
        """Intake's queue-depth caps, where set: alert rules compare the depths with them."""
        limits = (
            ("total", int(getattr(settings, "INGEST_MAX_QUEUED_LOGS", 0) or 0)),
            ("tenant", int(getattr(settings, "INGEST_MAX_QUEUED_LOGS_PER_TENANT", 0) or 0)),
        )
        family = GaugeMetricFamily(
            "dataproc_ingest_queue_limit",
            "Logs in the queue beyond which intake refuses uploads: scope total (503, "
            "INGEST_MAX_QUEUED_LOGS) or per tenant (429, INGEST_MAX_QUEUED_LOGS_PER_TENANT); absent when off.",
            labels=["scope"],
        )
        for scope, limit in limits:
            if limit > 0:
                family.add_metric([scope], float(limit))
        if family.samples:
            yield family

    def reset(self) -> None:
        with self._lock:
            self._cached = None
            self._cached_at = None


queue_stats = QueueStatsCollector()


class _Recorded:
    """The recorded metrics: every gunicorn process's files, or this process's registry."""

    def collect(self) -> Iterable[Metric]:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory and os.path.isdir(directory):
            yield from MultiProcessCollector(None, path=directory).collect()
        else:
            yield from REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """A registry to hand to an exposition function (one per server; collectors read live)."""
    registry = CollectorRegistry(auto_describe=False, support_collectors_without_names=True)
    registry.register(_Recorded())
    registry.register(queue_stats)
    return registry


def render() -> bytes:
    """The Prometheus text exposition of everything above."""
    return generate_latest(scrape_registry())
