"""Dead letters across every visible tenant, newest first within each tenant."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from console.forms import LogRef
from console.views.base import ConsoleView
from console.views.overview import tenant_rows
from tenants.stores import STATUS_DEAD_LETTERED, LogRecord, get_store

PER_TENANT = 20


@dataclass(frozen=True)
class DeadLetterSection:
    tenant_id: str
    label: str
    count: int
    records: list[tuple[LogRecord, bool, str]]

    @property
    def has_more(self) -> bool:
        return self.count > len(self.records)


class DeadLettersView(ConsoleView):
    """One store query for the counts, then one page per tenant that has dead letters."""

    template_name = "console/dead_letters.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        store = get_store()
        sections = []
        for row in tenant_rows(self.access, store.list_tenants()):
            count = row.counts.get(STATUS_DEAD_LETTERED, 0)
            if not count:
                continue
            page = store.list_logs(row.tenant_id, status=STATUS_DEAD_LETTERED, limit=PER_TENANT)
            sections.append(
                DeadLetterSection(
                    tenant_id=row.tenant_id,
                    label=row.label,
                    count=count,
                    records=[
                        (record, True, LogRef(row.tenant_id, record.log_id).token) for record in page.records
                    ],
                )
            )
        return self.render(
            {
                "title": "Dead letters",
                "sections": sections,
                "total": sum(section.count for section in sections),
                "per_tenant": PER_TENANT,
            }
        )
