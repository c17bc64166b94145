"""What redaction found in a tenant's newest logs, per detector and per policy version (counts, never values)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from console.findings import DEFAULT_LIMIT, findings_summary
from console.views.base import ConsoleView
from tenants.stores import get_store


class FindingsView(ConsoleView):
    template_name = "console/tenant_findings.html"

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        label = self.access.tenant_label(tenant_id)
        summary = findings_summary(get_store(), tenant_id, limit=DEFAULT_LIMIT)
        return self.render(
            {
                "title": f"Redaction findings of {label}",
                "tenant_id": tenant_id,
                "tenant_label": label,
                "summary": summary,
                "limit": DEFAULT_LIMIT,
                "versions": sorted(summary.per_policy_version.items(), reverse=True),
                "can_edit_policy": self.access.can_edit_redaction_policy,
            }
        )
