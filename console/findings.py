"""Findings counted per tenant: what redaction found in a tenant's newest processed logs, per detector.

Records keep their findings (``{detector: count}``, never the values); this adds them
up over the newest ``limit`` processed records, read through the store's cursor pages
(``status=processed``, newest first), so the cost is bounded whatever the tenant holds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from tenants.stores import STATUS_PROCESSED, BaseLogStore

DEFAULT_LIMIT = 1000
PAGE_SIZE = 500


@dataclass
class FindingsSummary:
    examined: int = 0
    with_findings: int = 0
    per_detector: Counter = field(default_factory=Counter)
    logs_per_detector: Counter = field(default_factory=Counter)
    per_policy_version: Counter = field(default_factory=Counter)
    newest: datetime | None = None
    oldest: datetime | None = None
    more: bool = False

    def rows(self) -> list[tuple[str, int, int]]:
        """``(detector, findings, logs with it)``, most findings first."""
        return [
            (detector, count, self.logs_per_detector[detector])
            for detector, count in sorted(self.per_detector.items(), key=lambda item: (-item[1], item[0]))
        ]


def findings_summary(store: BaseLogStore, tenant_id: str, *, limit: int = DEFAULT_LIMIT) -> FindingsSummary:
    summary = FindingsSummary()
    cursor = None
    while summary.examined < limit:
        page = store.list_logs(
            tenant_id, status=STATUS_PROCESSED, limit=min(PAGE_SIZE, limit - summary.examined), cursor=cursor
        )
        for record in page.records:
            summary.examined += 1
            summary.newest = summary.newest or record.received_at
            summary.oldest = record.received_at
            summary.per_policy_version[record.policy_version] += 1
            found = {detector: count for detector, count in (record.findings or {}).items() if count}
            if found:
                summary.with_findings += 1
            summary.per_detector.update(found)
            summary.logs_per_detector.update(found.keys())
        cursor = page.next_cursor
        if cursor is None:
            return summary
    summary.more = True
    return summary
