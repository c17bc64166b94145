"""The console's URLs, mounted on an admin site (``admin:console_*``) by ``ConsoleAdminSite``."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.urls import URLPattern, path
from django.views.generic import RedirectView

from console.views.dead_letters import DeadLettersView
from console.views.findings import FindingsView
from console.views.lifecycle import EraseLogsView, ExportLogsView
from console.views.logs import LogDetailView, TenantLogsView
from console.views.overview import OverviewView
from console.views.policy import PolicyView
from console.views.replay import ReplayAllView, ReplaySelectedView
from console.views.rescrub import RescrubView


def console_urlpatterns(site: AdminSite) -> list[URLPattern]:
    def view(view_class):
        return site.admin_view(view_class.as_view(site=site))

    return [
        # The overview has a path of its own so the sidebar does not mark it current on
        # every console page (the admin matches entries by URL prefix).
        path(
            "console/",
            site.admin_view(RedirectView.as_view(pattern_name=f"{site.name}:console_overview")),
            name="console_index",
        ),
        path("console/overview/", view(OverviewView), name="console_overview"),
        path("console/dead-letters/", view(DeadLettersView), name="console_dead_letters"),
        path("console/replay/", view(ReplaySelectedView), name="console_replay"),
        path("console/tenants/<str:tenant_id>/", view(TenantLogsView), name="console_tenant_logs"),
        path(
            "console/tenants/<str:tenant_id>/logs/<str:log_id>/",
            view(LogDetailView),
            name="console_log_detail",
        ),
        path(
            "console/tenants/<str:tenant_id>/replay-all/",
            view(ReplayAllView),
            name="console_replay_all",
        ),
        # Redaction: the policy page (with its tester), findings, re-scrub.
        path(
            "console/tenants/<str:tenant_id>/redaction-policy/",
            view(PolicyView),
            name="console_redaction_policy",
        ),
        path("console/tenants/<str:tenant_id>/findings/", view(FindingsView), name="console_findings"),
        path("console/tenants/<str:tenant_id>/rescrub/", view(RescrubView), name="console_rescrub"),
        # Data lifecycle: the filtered list as NDJSON, and erasure (a range, or everything).
        path("console/tenants/<str:tenant_id>/export/", view(ExportLogsView), name="console_export_logs"),
        path("console/tenants/<str:tenant_id>/erase/", view(EraseLogsView), name="console_erase_logs"),
    ]
