"""A tenant's logs leaving the console: the NDJSON download of a filtered list, and erasure.

Download (GET): the list's filters, every page; the original text only for users
with ``tenants.view_original_text`` who ask for it. Each download is written to
the tenant's history (who, which filters, original text or not).

Erase (GET asks, POST erases): a received-at range or every log of the tenant,
for staff who see the tenant and hold ``tenants.delete_storedlog`` (superusers
do). One confirmation erases at most ``ERASE_PER_REQUEST`` logs, in batches, so a
request ends well within its timeout; the page then offers to go on, and what
was erased stays erased, so an interrupted erasure is finished by confirming
again. Each confirmation is one ``LogEntry``: who, which range, how many.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse

from console.export import iter_search, ndjson_chunks, started
from console.forms import EraseLogsForm, LogFilterForm
from console.views.base import ConsoleView
from console.views.logs import matches_filters
from tenants.lifecycle import ErasureInterrupted, describe_range, erase, record_erasure
from tenants.models import Tenant
from tenants.stores import get_store

logger = logging.getLogger(__name__)

ERASE_PER_REQUEST = 5000


class ExportLogsView(ConsoleView):
    """The tenant's list as filtered on its page, as an NDJSON download."""

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        include_original = request.GET.get("original") == "1"
        if include_original and not self.access.can_view_original_text:
            raise PermissionDenied("Downloading original text needs the permission to view it.")
        form = LogFilterForm(request.GET)
        if not form.is_valid():
            messages.error(request, "Correct the filter before downloading.")
            return HttpResponseRedirect(self._logs_url(tenant_id))
        filters = form.cleaned_data
        store = get_store()
        window = {
            "status": filters["status"] or None,
            "received_after": filters["received_after"],
            "received_before": filters["received_before"],
        }
        if filters["log_id"]:
            record = store.get(tenant_id, filters["log_id"])
            records = iter([record] if record is not None and matches_filters(record, filters) else [])
        elif filters["q"]:
            records = iter_search(store, tenant_id, filters["q"], **window)
        else:
            records = store.iter_logs(tenant_id, **window)
        records = started(records)
        self._record(tenant_id, request, include_original)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            ndjson_chunks(records, include_original=include_original), content_type="application/x-ndjson"
        )
        response["Content-Disposition"] = f'attachment; filename="{tenant_id}-logs-{stamp}.ndjson"'
        response["Cache-Control"] = "no-store"
        return response

    def _record(self, tenant_id: str, request: HttpRequest, include_original: bool) -> None:
        filters = ", ".join(
            f"{name}={value}" for name, value in request.GET.items() if value and name != "original"
        )
        what = "with the original text" if include_original else "redacted text only"
        LogEntry.objects.create(
            user_id=request.user.pk,
            content_type_id=ContentType.objects.get_for_model(Tenant).pk,
            object_id=tenant_id,
            object_repr=self.access.tenant_label(tenant_id)[:200],
            action_flag=CHANGE,
            change_message=f"Downloaded logs as NDJSON ({what}; filters: {filters or 'none'}).",
        )
        logger.info(
            "logs downloaded from the console",
            extra={"tenant_id": tenant_id, "user_id": request.user.pk, "original_text": include_original},
        )

    def _logs_url(self, tenant_id: str) -> str:
        return reverse(
            f"{self.site.name}:console_tenant_logs",
            kwargs={"tenant_id": tenant_id},
            current_app=self.site.name,
        )


class EraseLogsView(ConsoleView):
    """GET: the confirmation page (the range from the list's filters); POST: erase."""

    template_name = "console/erase_confirm.html"
    http_method_names = ["get", "head", "post"]

    def _allow(self, tenant_id: str) -> None:
        self.access.require_tenant(tenant_id)
        if not self.access.can_erase_logs:
            raise PermissionDenied("Erasing logs needs the “Can delete stored log” permission.")

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self._allow(tenant_id)
        form = EraseLogsForm(initial=self._initial(request))
        return self._page(tenant_id, form)

    def post(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self._allow(tenant_id)
        form = EraseLogsForm(request.POST)
        if not form.is_valid():
            return self._page(tenant_id, form)
        after, before = form.cleaned_data["received_after"], form.cleaned_data["received_before"]
        what = describe_range(after, before)
        label = self.access.tenant_label(tenant_id)
        error = ""
        try:
            erased, finished = erase(
                get_store(),
                tenant_id,
                received_after=after,
                received_before=before,
                max_records=ERASE_PER_REQUEST,
            )
        except ErasureInterrupted as exc:
            # What was erased before the store failed stays erased (and is recorded).
            erased, finished, error = exc.erased, False, str(exc)
        record_erasure(
            request.user.pk,
            tenant_id,
            received_after=after,
            received_before=before,
            erased=erased,
            finished=finished,
            how="console",
        )
        logger.info(
            "logs erased from the console",
            extra={
                "tenant_id": tenant_id,
                "user_id": request.user.pk,
                "erased": erased,
                "finished": finished,
            },
        )
        if error:
            messages.error(request, f"The erasure stopped: {error}. Confirm again to finish it.")
        elif finished:
            messages.success(request, f"Erased {erased} log(s) of {label} ({what}).")
        else:
            messages.warning(
                request,
                f"Erased {erased} log(s) of {label} ({what}); at most {ERASE_PER_REQUEST} go per "
                "confirmation and more remain: confirm again to go on.",
            )
        if finished:
            return HttpResponseRedirect(
                reverse(
                    f"{self.site.name}:console_tenant_logs",
                    kwargs={"tenant_id": tenant_id},
                    current_app=self.site.name,
                )
            )
        return self._page(tenant_id, form)

    @staticmethod
    def _initial(request: HttpRequest) -> dict:
        """The range the log list was filtered to (GET parameters), when it is a valid one."""
        filters = LogFilterForm(request.GET)
        if not filters.is_valid():
            return {}
        return {
            name: filters.cleaned_data[name]
            for name in ("received_after", "received_before")
            if filters.cleaned_data.get(name)
        }

    def _page(self, tenant_id: str, form: EraseLogsForm) -> HttpResponse:
        label = self.access.tenant_label(tenant_id)
        counts = get_store().counts(tenant_id)
        return self.render(
            {
                "title": f"Erase logs of {label}",
                "tenant_id": tenant_id,
                "tenant_label": label,
                "form": form,
                "total": sum(counts.values()),
                "per_request": ERASE_PER_REQUEST,
            },
            status=200 if not form.is_bound or form.is_valid() else 400,
        )
