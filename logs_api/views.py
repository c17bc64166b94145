"""The tenant-facing read API: one stored log, a tenant's logs newest first, their export, erasure.

Only what the worker stored is visible, with the redacted text; the original text
stays for staff with the ``tenants.view_original_text`` permission (the console).
``GET /logs?format=ndjson`` streams every matching log (``logs_api.export``);
``DELETE /logs/{log_id}`` erases one.
"""

from __future__ import annotations

import logging

from django.db import DataError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import InvalidRequest, NotFound, ServiceUnavailable
from core.identifiers import identifier_error
from dataproc_site.api.schema import (
    IDENTIFIER_PATTERN,
    REQUEST_ID_HEADER,
    REQUEST_ID_RESPONSE_HEADER,
    RETRY_AFTER_HEADER,
    WWW_AUTHENTICATE_HEADER,
    error,
)
from logs_api import export as ndjson_export
from logs_api.export import FORMATS, NDJSON, started, streaming_export, wants_ndjson
from logs_api.serializers import LogPageSerializer, LogRecordSerializer
from tenants.api import AUTH_ERRORS, TenantApiView, tenant_header
from tenants.lifecycle import parse_moment
from tenants.stores import STATUSES, StoreUnavailable, get_store

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_TENANT_HEADER = tenant_header(
    "INGEST_AUTH=open: the tenant whose logs to read (required). INGEST_AUTH=api_key: optional, "
    "must be the key's tenant."
)
_COMMON_PARAMETERS = [
    _TENANT_HEADER,
    REQUEST_ID_HEADER,
    REQUEST_ID_RESPONSE_HEADER,
    RETRY_AFTER_HEADER,
    WWW_AUTHENTICATE_HEADER,
]


def _store_unavailable(exc: StoreUnavailable) -> ServiceUnavailable:
    logger.warning("log store unavailable for a read", extra={"reason": str(exc)})
    return ServiceUnavailable("The log store is unavailable; retry later.")


class LogDetailView(TenantApiView):
    http_method_names = ["get", "delete"]

    @extend_schema(
        operation_id="logs_retrieve",
        summary="One stored log, with its status and redacted text",
        description=(
            "The record the worker stored for this tenant and log id: status (processed, retrying, "
            "dead_lettered), attempts, last error and the redacted text (never the original). 404 until "
            "the worker has taken the log from the queue."
        ),
        parameters=[
            OpenApiParameter("log_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=IDENTIFIER_PATTERN),
            *_COMMON_PARAMETERS,
        ],
        responses={
            200: LogRecordSerializer,
            400: error("Invalid log id, or (open mode) X-Tenant-ID missing or invalid."),
            **AUTH_ERRORS,
            404: error("No such log for this tenant (yet: a log appears once the worker has taken it)."),
            503: error("The log store is unavailable; see Retry-After."),
        },
        tags=["logs"],
    )
    def get(self, request: Request, log_id: str) -> Response:
        problem = identifier_error(log_id, "log_id")
        if problem:
            raise InvalidRequest(problem)
        tenant_id = self.reading_tenant(request)
        try:
            record = get_store().get(tenant_id, log_id)
        except StoreUnavailable as exc:
            raise _store_unavailable(exc) from None
        if record is None:
            raise NotFound(
                f"No log {log_id!r} for tenant {tenant_id!r}. A log appears here once the worker has "
                "taken it from the queue (processed, or retrying after a failure)."
            )
        return Response(LogRecordSerializer(record).data)

    @extend_schema(
        operation_id="logs_destroy",
        summary="Erase one stored log",
        description=(
            "Deletes the record the worker stored for this tenant and log id, for good (its counts "
            "follow). 404 for a log this tenant does not have, as for reads. A log still on the queue "
            "is stored again once the worker takes it: erase after it appears."
        ),
        parameters=[
            OpenApiParameter("log_id", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=IDENTIFIER_PATTERN),
            *_COMMON_PARAMETERS,
        ],
        responses={
            204: OpenApiResponse(description="Erased."),
            400: error("Invalid log id, or (open mode) X-Tenant-ID missing or invalid."),
            **AUTH_ERRORS,
            404: error("No such log for this tenant."),
            503: error("The log store is unavailable; see Retry-After."),
        },
        tags=["logs"],
    )
    def delete(self, request: Request, log_id: str) -> Response:
        problem = identifier_error(log_id, "log_id")
        if problem:
            raise InvalidRequest(problem)
        tenant_id = self.reading_tenant(request)
        try:
            erased = get_store().delete_log(tenant_id, log_id)
        except StoreUnavailable as exc:
            raise _store_unavailable(exc) from None
        if not erased:
            raise NotFound(f"No log {log_id!r} for tenant {tenant_id!r}.")
        logger.info("log erased through the API", extra={"tenant_id": tenant_id, "log_id": log_id})
        return Response(status=204)


def _moment(request: Request, name: str):
    raw = request.query_params.get(name) or None
    if raw is None:
        return None
    try:
        return parse_moment(raw)
    except ValueError:
        raise InvalidRequest(
            f"{name} must be an RFC 3339 date-time (2026-11-30T12:00:00Z) or a date (2026-11-30)."
        ) from None


class LogListView(TenantApiView):
    http_method_names = ["get"]

    @extend_schema(
        operation_id="logs_list",
        summary="The tenant's stored logs, newest first, by cursor; or all of them as NDJSON",
        description=(
            "Newest received first. Pass the body's `next` back as `cursor` for the following page; "
            "`next` is null on the last page. With `format=ndjson` (or `Accept: application/x-ndjson`) "
            "every matching log is streamed instead, one JSON object per line, unpaginated (no `cursor`, "
            "no `limit`); an export cut short by a store failure ends without the chunked body's "
            "terminator."
        ),
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=list(STATUSES), description="Only this status."
            ),
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="Only logs received at or after this RFC 3339 date-time or date (UTC).",
            ),
            OpenApiParameter(
                "until",
                OpenApiTypes.STR,
                description="Only logs received before this RFC 3339 date-time or date (UTC).",
            ),
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=list(FORMATS),
                description="`ndjson`: stream every matching log as NDJSON (as `Accept: application/x-ndjson`).",
            ),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` of the previous page."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                description=f"Page size, 1-{MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).",
            ),
            *_COMMON_PARAMETERS,
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                response=LogPageSerializer, description="A page of logs (JSON), or with format=ndjson:"
            ),
            (200, NDJSON): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="every matching log, one per line, the fields of GET /logs/{log_id}.",
            ),
            400: error(
                "Unknown status or format, bad limit, cursor, since or until, cursor or limit with the "
                "NDJSON export, or (open mode) X-Tenant-ID missing or invalid."
            ),
            **AUTH_ERRORS,
            503: error("The log store is unavailable; see Retry-After."),
        },
        tags=["logs"],
    )
    def get(self, request: Request) -> Response:
        export = wants_ndjson(request)
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.")
        since, until = _moment(request, "since"), _moment(request, "until")
        if since and until and since >= until:
            raise InvalidRequest("since must be earlier than until.")
        window = {"received_after": since, "received_before": until}
        if export:
            if request.query_params.get("cursor") or request.query_params.get("limit"):
                raise InvalidRequest("The NDJSON export is not paginated: leave out cursor and limit.")
            tenant_id = self.reading_tenant(request)
            try:
                records = started(
                    get_store().iter_logs(
                        tenant_id, status=status, page_size=ndjson_export.PAGE_SIZE, **window
                    )
                )
            except StoreUnavailable as exc:
                raise _store_unavailable(exc) from None
            return streaming_export(records, tenant_id)
        limit = _page_size(request.query_params.get("limit"))
        cursor = request.query_params.get("cursor") or None
        tenant_id = self.reading_tenant(request)
        try:
            page = get_store().list_logs(tenant_id, status=status, limit=limit, cursor=cursor, **window)
        except StoreUnavailable as exc:
            raise _store_unavailable(exc) from None
        except (ValueError, DataError):
            # DataError: a forged cursor carrying what the database cannot compare (NUL on PostgreSQL).
            raise InvalidRequest("cursor is not one this API issued; start again without it.") from None
        return Response(
            {"items": LogRecordSerializer(page.records, many=True).data, "next": page.next_cursor}
        )


def _page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        limit = int(raw)
    except ValueError:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}.") from None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}.")
    return limit
