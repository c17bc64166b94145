"""Per-tenant request rate limits for /ingest: a sliding-window counter in Django's cache.

Each tenant has a counter per clock minute; a request is allowed while
``previous_minute_count * (share of the previous minute still in the window)
+ this_minute_count`` stays within the tenant's ``rate_limit_per_minute``. That
approximates a true sliding 60 s window without storing timestamps (two cache
operations per request), and unlike a fixed window it does not let a tenant send
twice its rate across a minute boundary. Refused requests are not counted.

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


def acquire(tenant_id: str, limit_per_minute: int, *, now: float | None = None) -> float | None:
    """Count one request for ``tenant_id``; None when allowed, else the seconds to wait."""
    cache = caches[CACHE_ALIAS]
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    elapsed = now - window * WINDOW_SECONDS
    key = _key(tenant_id, window)
    try:
        count = cache.incr(key)
    except ValueError:
        # First request of this minute; add() loses harmlessly to a concurrent add().
        cache.add(key, 0, timeout=2 * WINDOW_SECONDS + 5)
        count = cache.incr(key)
    previous = cache.get(_key(tenant_id, window - 1), 0)
    estimate = previous * (WINDOW_SECONDS - elapsed) / WINDOW_SECONDS + count
    if estimate <= limit_per_minute:
        return None
    cache.decr(key)
    return seconds_until_allowed(limit_per_minute, previous, count - 1, elapsed)


def release(tenant_id: str, *, now: float | None = None) -> None:
    """Give back a request counted by ``acquire`` that was not served after all."""
    cache = caches[CACHE_ALIAS]
    now = time.time() if now is None else now
    # ValueError: the minute rolled over meanwhile, nothing left to give back.
    with contextlib.suppress(ValueError):
        cache.decr(_key(tenant_id, int(now // WINDOW_SECONDS)))


def seconds_until_allowed(limit: int, previous: int, current: int, elapsed: float) -> float:
    """When the next request would fit, given the counts (refused request excluded).

    Within this minute the previous minute's share shrinks as time passes; if this
    minute alone is full, the wait runs into the next minute, where this minute's
    count becomes the shrinking share.
    """
    if limit <= 0:
        return WINDOW_SECONDS - elapsed + WINDOW_SECONDS
    if current + 1 <= limit:
        # previous * (60 - t) / 60 + current + 1 <= limit
        #   <=>  t >= 60 * (1 - (limit - current - 1) / previous)
        allowed_at = WINDOW_SECONDS * (1 - (limit - current - 1) / previous) if previous else elapsed
        return max(allowed_at - elapsed, 0.0)
    into_next = WINDOW_SECONDS * (1 - (limit - 1) / current) if current else 0.0
    return WINDOW_SECONDS - elapsed + max(into_next, 0.0)
