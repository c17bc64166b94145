"""Re-scrub from the console: apply a tenant's current redaction policy to logs it already stored.

The same access as replay (staff who may see the tenant; others' tenants 404): GET
asks for confirmation (which logs, which policy version), POST re-scrubs
(``processing.rescrub``, the code behind ``manage.py rescrub``). One request does at
most ``RESCRUB_REQUEST_LIMIT`` logs within ``RESCRUB_REQUEST_SECONDS``; if more
remain, the page comes back with a button that goes on from where it stopped. Each
request's work is one entry in the tenant's admin history.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from console.policy_forms import RescrubForm
from console.views.base import ConsoleView
from processing.rescrub import Rescrubber, RescrubReport
from tenants.models import Tenant

RESCRUB_REQUEST_LIMIT = 500
RESCRUB_REQUEST_SECONDS = 20.0
PAGE_SIZE = 100


def describe_range(after: datetime | None, before: datetime | None) -> str:
    if after and before:
        return f"received from {after:%Y-%m-%d %H:%M:%S} until {before:%Y-%m-%d %H:%M:%S} UTC"
    if after:
        return f"received since {after:%Y-%m-%d %H:%M:%S} UTC"
    if before:
        return f"received before {before:%Y-%m-%d %H:%M:%S} UTC"
    return "received at any time"


class RescrubView(ConsoleView):
    template_name = "console/rescrub_confirm.html"
    http_method_names = ["get", "head", "post"]

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        return self.page(tenant_id, RescrubForm(initial={"window": "1h"}), Rescrubber(tenant_id))

    def post(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        rescrubber = Rescrubber(tenant_id)
        form = RescrubForm(request.POST)
        if not form.is_valid():
            return self.page(tenant_id, form, rescrubber)
        after, before = form.bounds()
        deadline = time.monotonic() + RESCRUB_REQUEST_SECONDS
        try:
            report = rescrubber.run(
                received_after=after,
                received_before=before,
                start_cursor=form.cleaned_data["from_cursor"] or None,
                limit=RESCRUB_REQUEST_LIMIT,
                page_size=PAGE_SIZE,
                should_stop=lambda: time.monotonic() > deadline,
            )
        except ValueError:
            form.add_error(None, "That continuation is no longer valid; start the re-scrub again.")
            return self.page(tenant_id, form, rescrubber)
        self.record(tenant_id, report, after, before)
        label = self.access.tenant_label(tenant_id)
        messages.success(
            self.request, f"Re-scrub of {label}, logs {describe_range(after, before)}: {report.summary()}."
        )
        if report.without_original:
            messages.warning(
                self.request,
                f"{report.without_original} log(s) kept their earlier redaction: their original text was not "
                "kept or has expired, so there is nothing to scrub them from.",
            )
        if not report.finished:
            following = RescrubForm(
                initial={
                    "window": "range" if after or before else "all",
                    "received_after": after,
                    "received_before": before,
                    "from_cursor": report.next_cursor,
                }
            )
            return self.page(tenant_id, following, rescrubber, continuing=report, after=after, before=before)
        logs_url = reverse(
            f"{self.site.name}:console_tenant_logs",
            kwargs={"tenant_id": tenant_id},
            current_app=self.site.name,
        )
        return HttpResponseRedirect(logs_url)

    def record(
        self, tenant_id: str, report: RescrubReport, after: datetime | None, before: datetime | None
    ) -> None:
        if not report.examined:
            return
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        LogEntry.objects.create(
            user_id=self.request.user.pk,
            content_type_id=ContentType.objects.get_for_model(Tenant).pk,
            object_id=tenant_id,
            object_repr=(str(tenant) if tenant else tenant_id)[:200],
            action_flag=CHANGE,
            change_message=(
                f"Re-scrubbed logs {describe_range(after, before)} with redaction policy version "
                f"{report.policy_version}: {report.summary()}."
            )[:2000],
        )

    def page(
        self,
        tenant_id: str,
        form: RescrubForm,
        rescrubber: Rescrubber,
        *,
        continuing: RescrubReport | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
    ) -> HttpResponse:
        label = self.access.tenant_label(tenant_id)
        return self.render(
            {
                "title": f"Re-scrub the stored logs of {label}?",
                "tenant_id": tenant_id,
                "tenant_label": label,
                "form": form,
                "policy_version": rescrubber.policy_version,
                "limit": RESCRUB_REQUEST_LIMIT,
                "continuing": continuing,
                "continuing_range": describe_range(after, before) if continuing else "",
                "can_edit_policy": self.access.can_edit_redaction_policy,
            }
        )
