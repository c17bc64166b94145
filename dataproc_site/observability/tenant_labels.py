"""Bounded ``tenant`` label values: known tenants by name, everything else ``other``.

A metric label takes whatever a client sends unless something bounds it, and every
distinct value is a time series kept forever by Prometheus. Only tenants in the
``Tenant`` table (at most METRICS_MAX_TENANT_LABELS of them) get their own label;
the set is read at most every METRICS_TENANT_CACHE_SECONDS, and on an unknown name
at most every second, so a flood of made-up tenant ids costs neither series nor
queries. The tenants app hands over how to read it (``set_source``) and
invalidates it when a tenant changes: this package imports no app.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings

logger = logging.getLogger(__name__)

OTHER = "other"
# An unknown name triggers a reload at most this often: a tenant registered a
# moment ago (open mode, or by another process) gets its label within a second,
# and a flood of made-up names costs at most one small query a second.
_MISS_RELOAD_SECONDS = 1.0


class TenantLabels:
    """A process-wide cache of the tenant ids allowed as label values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        self._source: Callable[[int], Iterable[str]] | None = None

    def set_source(self, source: Callable[[int], Iterable[str]]) -> None:
        """Where known tenant ids come from: ``source(limit)`` (the tenants app hands it over)."""
        self._source = source
        self.invalidate()

    def label(self, tenant_id: str | None) -> str:
        """``tenant_id`` if it is a known tenant, else ``other``."""
        if not tenant_id:
            return OTHER
        now = time.monotonic()
        ttl = float(getattr(settings, "METRICS_TENANT_CACHE_SECONDS", 60.0))
        age = None if self._loaded_at is None else now - self._loaded_at
        stale = age is None or age > ttl
        missed = tenant_id not in self._known and (age is None or age > _MISS_RELOAD_SECONDS)
        if stale or missed:
            self._reload(now)
        return tenant_id if tenant_id in self._known else OTHER

    def invalidate(self) -> None:
        self._loaded_at = None

    def _reload(self, now: float) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is reloading; use the current set meanwhile
        try:
            if self._source is not None:
                limit = int(getattr(settings, "METRICS_MAX_TENANT_LABELS", 500))
                self._known = frozenset(self._source(limit))
        except Exception:
            # A metrics label must never fail a request or a message: keep the old set.
            logger.warning("tenant label cache could not be refreshed", exc_info=True)
        finally:
            self._loaded_at = now
            self._lock.release()


tenant_labels = TenantLabels()


def tenant_label(tenant_id: str | None) -> str:
    return tenant_labels.label(tenant_id)
