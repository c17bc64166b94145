"""One tenant's logs: the browser (text search, filters, cursor pages) and the detail of one log.

A text search runs ``store.search_logs`` (the redacted text, any case) with the
other filters and the same cursor pages; a backend without a text index (Firestore)
scans within a bound, and the page says what it scanned.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse

from console.forms import STATUS_LABELS, LogFilterForm, LogRef
from console.pagination import CURSOR_PARAM, TRAIL_PARAM, current_cursor, cursor_links
from console.replay import is_replayable, replay_refusal
from console.views.base import ConsoleView
from core.identifiers import identifier_error
from tenants.stores import STATUS_DEAD_LETTERED, STATUSES, LogRecord, SearchBound, get_store

PAGE_SIZE = 50


def matches_filters(record: LogRecord, filters: dict) -> bool:
    """The browser's filters applied to one record found by id (the rules of ``list_logs`` and the search)."""
    if filters.get("q") and filters["q"].casefold() not in (record.modified_data or "").casefold():
        return False
    if filters.get("status") and record.status != filters["status"]:
        return False
    if filters.get("received_after") and record.received_at < filters["received_after"]:
        return False
    return not (filters.get("received_before") and record.received_at >= filters["received_before"])


def token_of(record: LogRecord) -> str:
    return LogRef(record.tenant_id, record.log_id).token


class TenantLogsView(ConsoleView):
    """Newest first, by cursor; a log id finds one record with ``get`` instead of a scan."""

    template_name = "console/tenant_logs.html"

    def get(self, request: HttpRequest, tenant_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        store = get_store()
        form = LogFilterForm(request.GET)
        records: list[LogRecord] = []
        next_cursor = None
        search_bound: SearchBound | None = None
        if form.is_valid():
            filters = form.cleaned_data
            if filters["log_id"]:
                record = store.get(tenant_id, filters["log_id"])
                records = [record] if record is not None and matches_filters(record, filters) else []
            else:
                query = {
                    "status": filters["status"] or None,
                    "received_after": filters["received_after"],
                    "received_before": filters["received_before"],
                    "limit": PAGE_SIZE,
                    "cursor": current_cursor(request.GET),
                }
                try:
                    if filters["q"]:
                        page = store.search_logs(tenant_id, filters["q"], **query)
                        search_bound = page.bound
                    else:
                        page = store.list_logs(tenant_id, **query)
                except ValueError:
                    messages.error(request, "That page link is no longer valid; showing the newest logs.")
                    return HttpResponseRedirect(self._without_cursor(request))
                records, next_cursor = page.records, page.next_cursor
        counts = store.counts(tenant_id)
        status = form.cleaned_data.get("status", "") if form.is_valid() else ""
        return self.render(
            {
                "title": f"Logs of {self.access.tenant_label(tenant_id)}",
                "tenant_id": tenant_id,
                "form": form,
                "records": [(record, is_replayable(record), token_of(record)) for record in records],
                "any_replayable": any(is_replayable(record) for record in records),
                "counts": counts,
                "status_links": self._status_links(request, counts),
                "current_status": status,
                "status_heading": f"{STATUS_LABELS[status]} logs" if status else "Logs",
                "total": sum(counts.values()),
                "pages": cursor_links(request.GET, next_cursor),
                "is_first_page": current_cursor(request.GET) is None,
                "show_replay_all": status == STATUS_DEAD_LETTERED and counts.get(STATUS_DEAD_LETTERED, 0) > 0,
                "search_bound": search_bound,
                "searched": form.is_valid() and bool(form.cleaned_data.get("q")),
                "filter_query": self._filter_query(request),
                "erase_query": self._erase_query(form),
                "can_erase_logs": self.access.can_erase_logs,
            }
        )

    @staticmethod
    def _filter_query(request: HttpRequest) -> str:
        """The filters without the page: what the download exports (every page of it)."""
        query = request.GET.copy()
        for name in (CURSOR_PARAM, TRAIL_PARAM):
            query.pop(name, None)
        return query.urlencode()

    @staticmethod
    def _erase_query(form: LogFilterForm) -> str:
        """The list's received-at range, to start the erase page from (nothing else carries over)."""
        if not form.is_valid():
            return ""
        query = QueryDict(mutable=True)
        for name in ("received_after", "received_before"):
            if form.cleaned_data.get(name):
                query[name] = form.cleaned_data[name].strftime("%Y-%m-%dT%H:%M:%S")
        return query.urlencode()

    @staticmethod
    def _without_cursor(request: HttpRequest) -> str:
        query = request.GET.copy()
        for name in (CURSOR_PARAM, TRAIL_PARAM):
            query.pop(name, None)
        return f"{request.path}?{query.urlencode()}"

    @staticmethod
    def _status_links(request: HttpRequest, counts: dict[str, int]) -> list[dict]:
        """Quick status filters with their counts, keeping the other filters (and dropping the page)."""
        links = []
        for status, label in [("", "All"), *STATUS_LABELS.items()]:
            query = request.GET.copy()
            for name in (CURSOR_PARAM, TRAIL_PARAM, "status"):
                query.pop(name, None)
            if status:
                query["status"] = status
            links.append(
                {
                    "status": status,
                    "label": label,
                    "count": counts.get(status, 0) if status else sum(counts.get(s, 0) for s in STATUSES),
                    "query": f"?{query.urlencode()}",
                }
            )
        return links


class LogDetailView(ConsoleView):
    template_name = "console/log_detail.html"

    def get(self, request: HttpRequest, tenant_id: str, log_id: str) -> HttpResponse:
        self.access.require_tenant(tenant_id)
        if identifier_error(log_id, "log_id"):
            raise Http404("No such log.")
        record = get_store().get(tenant_id, log_id)
        if record is None:
            raise Http404("No such log.")
        return self.render(
            {
                "title": f"Log {log_id}",
                "tenant_id": tenant_id,
                "tenant_label": self.access.tenant_label(tenant_id),
                "record": record,
                "replayable": is_replayable(record),
                "replay_refusal": replay_refusal(record),
                "selection_token": LogRef(tenant_id, log_id).token,
                "detail_url": reverse(
                    f"{self.site.name}:console_log_detail",
                    kwargs={"tenant_id": tenant_id, "log_id": log_id},
                    current_app=self.site.name,
                ),
            }
        )
