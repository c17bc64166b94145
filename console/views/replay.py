"""The console's only writes: replay selected logs, and replay all of a tenant's dead letters.

POST only (the admin wraps every view in CSRF protection); every log's tenant is
checked before anything is replayed, so one foreign id refuses the whole request.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst

from console.forms import ReplaySelectedForm
from console.replay import REPLAY_ALL_LIMIT, Replayer, ReplayReport
from console.views.base import ConsoleView
from tenants.stores import STATUS_DEAD_LETTERED, get_store

MAX_NAMED = 5


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")


def report_messages(request: HttpRequest, report: ReplayReport) -> None:
    """Tell the user what happened, on the page they are sent back to."""
    replayed = [f"{record.tenant_id}/{record.log_id}" for record in report.replayed]
    if len(replayed) == 1:
        messages.success(request, f"Replayed log {replayed[0]}: it is back on the queue.")
    elif replayed:
        messages.success(
            request, f"Replayed {len(replayed)} logs: they are back on the queue ({_named(replayed)})."
        )
    if report.not_replayable:
        names = _named([ref.token for ref in report.not_replayable])
        messages.warning(request, f"Not replayed, already processed: {names}.")
    if report.missing:
        names = _named([ref.token for ref in report.missing])
        messages.warning(request, f"Not replayed, no such log: {names}.")
    if report.without_text:
        names = _named([ref.token for ref in report.without_text])
        messages.warning(
            request,
            f"Not replayed, the original text is not kept (never stored, or expired): {names}. "
            "A replay needs it; ask the client to send these logs again.",
        )
    if report.error:
        messages.error(
            request,
            f"Replay stopped: {report.error}. {capfirst(str(len(replayed)))} log(s) were replayed before it "
            "stopped; replay the others again later.",
        )


class ReplaySelectedView(ConsoleView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReplaySelectedForm(request.POST)
        fallback = reverse(f"{self.site.name}:console_dead_letters", current_app=self.site.name)
        next_url = self.safe_next(request.POST.get("next"), fallback)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return HttpResponseRedirect(next_url)
        refs = form.cleaned_data["selected"]
        for ref in refs:
            self.access.require_tenant(ref.tenant_id)
        report_messages(request, Replayer(request.user).replay_refs(refs))
        return HttpResponseRedirect(next_url)


class ReplayAllView(ConsoleView):
    """GET asks for confirmation (with the count); POST replays."""

    template_name = "console/replay_all_confirm.html"
    http_method_names = ["get", "head", "post"]

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        count = get_store().counts(tenant_id).get(STATUS_DEAD_LETTERED, 0)
        return self.render(
            {
                "title": f"Replay all dead letters of {self.access.tenant_label(tenant_id)}?",
                "tenant_id": tenant_id,
                "tenant_label": self.access.tenant_label(tenant_id),
                "count": count,
                "limit": REPLAY_ALL_LIMIT,
            }
        )

    def post(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        report = Replayer(request.user).replay_all_dead_letters(tenant_id)
        if not report.replayed and not report.error:
            messages.info(request, f"{self.access.tenant_label(tenant_id)} has no dead letters to replay.")
        report_messages(request, report)
        if report.more_remaining:
            messages.warning(
                request,
                f"At most {REPLAY_ALL_LIMIT} logs are replayed per confirmation; "
                "more dead letters remain: replay all again to continue.",
            )
        logs_url = reverse(
            f"{self.site.name}:console_tenant_logs",
            kwargs={"tenant_id": tenant_id},
            current_app=self.site.name,
        )
        return HttpResponseRedirect(f"{logs_url}?status={STATUS_DEAD_LETTERED}")
