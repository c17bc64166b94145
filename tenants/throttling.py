"""Per-tenant rate limits for the intake, in logs per minute: a sliding-window counter in Django's cache.

Each tenant has a counter per clock minute, counting logs (one for a single log,
every record queued for a batch); a request of ``n`` logs is allowed while
``previous_minute_count * (share of the previous minute still in the window)
+ this_minute_count + n`` stays within the tenant's ``rate_limit_per_minute``.
That approximates a true sliding 60 s window without storing timestamps (three
cache operations per request), and unlike a fixed window it does not let a
tenant send twice its rate across a minute boundary. A refused request counts
nothing, so batching can neither multiply a tenant's allowance nor use it up
with logs that were never queued.

What it guarantees depends on the cache (``CACHE_URL``): counters are shared by
everything that shares the cache. With the default local-memory cache that is one
process, so N gunicorn workers (or N Cloud Run instances) admit up to N times the
rate between them; point ``CACHE_URL`` at a shared cache with atomic increments
(Redis or memcached) for one limit across all of them. Tenants never share a
counter, so one tenant's throttling cannot affect another's requests.
"""

from __future__ import annotations

import contextlib
import time

from django.core.cache import caches

WINDOW_SECONDS = 60
CACHE_ALIAS = "default"


def _key(tenant_id: str, window: int) -> str:
    return f"ingest-rate:{tenant_id}:{window}"


def acquire(
    tenant_id: str, limit_per_minute: int, logs: int = 1, *, now: float | None = None
) -> float | None:
    """Count ``logs`` logs for ``tenant_id``; None when they fit, else the seconds until they would.

    ``logs`` larger than the whole limit never fit: the wait returned is then that
    of a full window, and callers should refuse such a batch outright instead.
    """
    if logs < 1:
        raise ValueError("acquire counts at least one log")
    cache = caches[CACHE_ALIAS]
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    elapsed = now - window * WINDOW_SECONDS
    key = _key(tenant_id, window)
    try:
        count = cache.incr(key, logs)
    except ValueError:
        # First request of this minute; add() loses harmlessly to a concurrent add().
        cache.add(key, 0, timeout=2 * WINDOW_SECONDS + 5)
        count = cache.incr(key, logs)
    previous = cache.get(_key(tenant_id, window - 1), 0)
    estimate = previous * (WINDOW_SECONDS - elapsed) / WINDOW_SECONDS + count
    if estimate <= limit_per_minute:
        return None
    cache.decr(key, logs)
    return seconds_until_allowed(limit_per_minute, previous, count - logs, elapsed, logs)


def release(tenant_id: str, logs: int = 1, *, now: float | None = None) -> None:
    """Give back ``logs`` counted by ``acquire`` that were not queued after all."""
    cache = caches[CACHE_ALIAS]
    now = time.time() if now is None else now
    # ValueError: the minute rolled over meanwhile, nothing left to give back.
    with contextlib.suppress(ValueError):
        cache.decr(_key(tenant_id, int(now // WINDOW_SECONDS)), logs)


def seconds_until_allowed(limit: int, previous: int, current: int, elapsed: float, logs: int = 1) -> float:
    """When ``logs`` more would fit, given the counts (the refused logs excluded).

    Within this minute the previous minute's share shrinks as time passes; if this
    minute alone has no room for them, the wait runs into the next minute, where
    this minute's count becomes the shrinking share. More logs than the whole
    limit never fit: the answer is then two full windows, the longest wait there is.
    """
    if limit <= 0 or logs > limit:
        return WINDOW_SECONDS - elapsed + WINDOW_SECONDS
    if current + logs <= limit:
        # previous * (60 - t) / 60 + current + logs <= limit
        #   <=>  t >= 60 * (1 - (limit - current - logs) / previous)
        allowed_at = WINDOW_SECONDS * (1 - (limit - current - logs) / previous) if previous else elapsed
        return max(allowed_at - elapsed, 0.0)
    into_next = WINDOW_SECONDS * (1 - (limit - logs) / current) if current else 0.0
    return WINDOW_SECONDS - elapsed + max(into_next, 0.0)
