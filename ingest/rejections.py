"""Rejected records: counted in the metrics, and kept a week per tenant for the console, without their text.

A shipper treats a 202 (or OTLP's 200) as delivered and never resends the
records it rejected, so the only trace of them is here: the
``dataproc_ingest_logs_rejected{tenant, reason}`` counter and the
``IntakeRejection`` table the admin shows per tenant (Ingest > Intake
rejections, linked from each tenant's logs page).

Why a table: the console runs in every API process (gunicorn workers, Cloud Run
instances), and a count kept in one process's memory or local cache would show
each operator a different fraction. Why bounded: one row per tenant, source,
reason and hour, incremented in place (the reasons are a fixed set of codes),
rows older than ``KEEP_DAYS`` deleted whenever a new row is made, and only
tenants that exist get rows, so a client cannot grow it with made-up tenant ids.
Requests without rejections never touch it: the accepting path stays free of
database writes beyond the queue's.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dataproc_site.observability import metrics
from ingest.models import IntakeRejection

logger = logging.getLogger(__name__)

KEEP_DAYS = 7


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def record_rejections(counts: Counter[tuple[str | None, str]], *, source: str, known: set[str]) -> None:
    """Count rejected records: ``counts`` maps (tenant id or None, reason) to how many.

    Every count goes to the metrics (unknown tenants under ``other``); the table
    keeps those of ``known`` tenants (ones that exist). A database failure is
    logged and swallowed: the answer to the client does not depend on it.
    """
    by_tenant: dict[str | None, Counter[str]] = {}
    for (tenant_id, reason), count in counts.items():
        by_tenant.setdefault(tenant_id, Counter())[reason] += count
    for tenant_id, reasons in by_tenant.items():
        metrics.record_rejected(tenant_id, reasons)
    stored = {key: count for key, count in counts.items() if key[0] in known}
    if not stored:
        return
    try:
        _store(stored, source)
    except DatabaseError:
        logger.warning("intake rejections could not be recorded", exc_info=True, extra={"source": source})


def _store(counts: dict[tuple[str, str], int], source: str) -> None:
    now = timezone.now()
    hour = hour_of(now)
    created = False
    for (tenant_id, reason), count in sorted(counts.items()):
        rows = IntakeRejection.objects.filter(tenant_id=tenant_id, source=source, reason=reason, hour=hour)
        if rows.update(count=F("count") + count, last_at=now):
            continue
        try:
            with transaction.atomic():
                IntakeRejection.objects.create(
                    tenant_id=tenant_id,
                    source=source,
                    reason=reason,
                    hour=hour,
                    count=count,
                    first_at=now,
                    last_at=now,
                )
            created = True
        except IntegrityError:  # another request made the row meanwhile
            rows.update(count=F("count") + count, last_at=now)
    if created:
        prune(now)


def prune(now: datetime | None = None) -> int:
    """Delete rows older than KEEP_DAYS; how many went."""
    cutoff = hour_of(now or timezone.now()) - timedelta(days=KEEP_DAYS)
    deleted, _ = IntakeRejection.objects.filter(hour__lt=cutoff).delete()
    return deleted
