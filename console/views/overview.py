"""The console's front page: every visible tenant's counts, the queue, and the last hour."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.timesince import timesince

from console.access import ConsoleAccess
from console.chart import build_activity_chart, window_start
from console.views.base import ConsoleView
from processing.queues import QueueStats, get_queue
from tenants.models import Tenant
from tenants.stores import STATUSES, TenantSummary, get_store

logger = logging.getLogger(__name__)

CHART_MINUTES = 60


@dataclass(frozen=True)
class TenantRow:
    tenant_id: str
    label: str
    tenant: Tenant | None
    counts: dict[str, int]
    last_activity: datetime | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def last_activity_ago(self) -> str:
        if self.last_activity is None:
            return ""
        if (timezone.now() - self.last_activity).total_seconds() < 60:
            return "just now"
        return f"{timesince(self.last_activity, depth=1)} ago"


def tenant_rows(access: ConsoleAccess, summaries: list[TenantSummary]) -> list[TenantRow]:
    """One row per visible tenant: Tenant rows, plus (for superusers) tenants known only to the store."""
    by_id = {summary.tenant_id: summary for summary in summaries}
    tenant_ids = set(access.assigned_tenants)
    if access.sees_every_tenant:
        tenant_ids |= set(by_id)
    rows = []
    for tenant_id in sorted(tenant_ids):
        summary = by_id.get(tenant_id)
        rows.append(
            TenantRow(
                tenant_id=tenant_id,
                label=access.tenant_label(tenant_id),
                tenant=access.assigned_tenants.get(tenant_id),
                counts={status: summary.counts.get(status, 0) if summary else 0 for status in STATUSES},
                last_activity=summary.last_activity if summary else None,
            )
        )
    return rows


def format_age(seconds: float) -> str:
    """A short human duration: "42 s", "3 min 5 s", "2 h 10 min", "3 d 4 h"."""
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def read_queue_stats() -> QueueStats | None:
    """The queue's own numbers, or None when it cannot say right now (the page still renders)."""
    try:
        return get_queue().stats()
    except Exception:  # an auxiliary panel: any backend failure only hides it
        logger.warning("queue statistics unavailable for the console", exc_info=True)
        return None


class OverviewView(ConsoleView):
    template_name = "console/overview.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        store = get_store()
        rows = tenant_rows(self.access, store.list_tenants())
        now = timezone.now()
        visible_ids = self.access.visible_tenant_ids()
        since = window_start(now, CHART_MINUTES)
        buckets = store.activity(visible_ids, since) if visible_ids != [] else []
        # Queue figures span every tenant: only for those who see every tenant.
        show_queue = self.access.sees_every_tenant
        queue_stats = read_queue_stats() if show_queue else None
        queue_age = None
        if queue_stats is not None and queue_stats.oldest_age_seconds is not None:
            queue_age = format_age(queue_stats.oldest_age_seconds)
        totals = {status: sum(row.counts[status] for row in rows) for status in STATUSES}
        return self.render(
            {
                "title": "Log console",
                "rows": rows,
                "totals": totals,
                "chart": build_activity_chart(buckets, now=now, minutes=CHART_MINUTES),
                "show_queue": show_queue,
                "queue_stats": queue_stats,
                "queue_age": queue_age,
            }
        )
