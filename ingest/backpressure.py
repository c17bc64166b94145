"""Backpressure: intake refuses logs the queue has no room for, and queues nothing of them.

Two optional caps on the logs in the queue (waiting, delayed for a retry, or being
worked on), both off (0) by default:

- ``INGEST_MAX_QUEUED_LOGS_PER_TENANT``: an upload that would take one tenant's
  queued logs past it answers 429 (``tenant_queue_full``) with ``Retry-After``;
  the other tenants go on as before.
- ``INGEST_MAX_QUEUED_LOGS``: an upload that would take the whole queue past it
  answers 503 (``queue_full``) with ``Retry-After``.

Logs are counted, not requests: a batch of N logs needs room for N. Both refusals
are ``ServiceUnavailable`` to the view (a 429 for the tenant cap), so whatever
the view does for an upload the queue would not take (give back the rate it was
charged) happens here too. ``/ready`` is not affected: a full queue is not an
unready process; the backlog is exported as metrics so an alert fires first
(docs/observability.md).

How exact: the database queue counts its rows (an index-only count that stops at
the cap, ``DatabaseQueue.depth``). Pub/Sub tells a publisher nothing; its total
comes from Cloud Monitoring's ``num_undelivered_messages``, read at most every
``PUBSUB_BACKLOG_CACHE_SECONDS`` and a minute or two behind
(``processing.queues.pubsub_backlog``), and no tenant's share is known there, so
on Pub/Sub the tenant cap is not enforced (the per-tenant rate limits are the
guard). A count that cannot be had (Monitoring unreachable, the emulator) admits
the upload: a missing metric must not stop intake. The check and the publish are
not one transaction, so uploads checked at the same moment can each fit and
together overshoot a cap by at most one upload each.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.conf import settings
from rest_framework import status

from core.envelope import LogEnvelope
from core.errors import ServiceUnavailable
from dataproc_site.observability import metrics
from processing.queues import QueueUnavailable, get_queue

logger = logging.getLogger(__name__)


class QueueFull(ServiceUnavailable):
    """The whole queue is at ``INGEST_MAX_QUEUED_LOGS``."""

    code = "queue_full"
    default_detail = "The queue is full; nothing was accepted. Retry later."


class TenantQueueFull(QueueFull):
    """One tenant's queued logs are at ``INGEST_MAX_QUEUED_LOGS_PER_TENANT``: that tenant's problem, a 429."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "tenant_queue_full"


def admit(envelopes: list[LogEnvelope]) -> None:
    """Raise ``TenantQueueFull`` (429) or ``QueueFull`` (503) unless the queue has room for every envelope."""
    tenant_cap = settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT
    total_cap = settings.INGEST_MAX_QUEUED_LOGS
    if not envelopes or not (tenant_cap or total_cap):
        return
    queue = get_queue()
    retry_after = settings.INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS
    try:
        if tenant_cap:
            for tenant_id, count in Counter(envelope.tenant_id for envelope in envelopes).items():
                queued = queue.depth(tenant_id=tenant_id, up_to=tenant_cap)
                if queued is not None and queued + count > tenant_cap:
                    metrics.record_queue_full("tenant", tenant_id)
                    raise TenantQueueFull(
                        f"Tenant {tenant_id!r} has {queued:,} logs queued and may have at most "
                        f"{tenant_cap:,}: no room for {count:,} more; nothing was accepted. "
                        "Retry once the worker has caught up.",
                        retry_after=retry_after,
                    )
        if total_cap:
            queued = queue.depth(up_to=total_cap)
            if queued is not None and queued + len(envelopes) > total_cap:
                metrics.record_queue_full("total", envelopes[0].tenant_id)
                raise QueueFull(retry_after=retry_after)
    except QueueUnavailable as exc:
        # The publish that follows fails the same way and answers 503 itself.
        logger.info("queue depth unavailable; the publish decides", extra={"reason": str(exc)})
