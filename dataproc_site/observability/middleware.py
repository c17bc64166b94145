"""One metrics update and one JSON log line per HTTP request, with its request id and trace.

First in the middleware list, so it times everything the request costs and still
sees the status of a response another middleware produced (a redirect, a 400
from a bad Host header, a 500 from an exception).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from dataproc_site.observability import context, metrics

logger = logging.getLogger("dataproc.request")

# Probes and scrapes arrive every few seconds: counted, but logged at DEBUG only.
_QUIET_ROUTES = frozenset({"health", "ready", "metrics"})
UNMATCHED_ROUTE = "unmatched"


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request (bounded), never the raw path (unbounded)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_ROUTE
    return match.route or match.view_name or UNMATCHED_ROUTE


def body_size(request: HttpRequest) -> int | None:
    """Bytes of the request body: what was read, else what Content-Length announced."""
    body = getattr(request, "_body", None)
    if isinstance(body, bytes):
        return len(body)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    return length if length >= 0 else None


def tenant_of(request: HttpRequest, trace: context.TraceContext) -> str:
    """The tenant the view reported, else the X-Tenant-ID header (text uploads, reads)."""
    return trace.tenant_id or request.META.get("HTTP_X_TENANT_ID", "")


# The headers the ids come from, by the names context_from_headers asks for. Read from
# META one by one: building ``request.headers`` parses every header of the request.
_ID_HEADERS = (
    ("X-Request-ID", "HTTP_X_REQUEST_ID"),
    ("traceparent", "HTTP_TRACEPARENT"),
    ("X-Cloud-Trace-Context", "HTTP_X_CLOUD_TRACE_CONTEXT"),
)


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        trace = self._bind_ids(request)
        token = context.bind(trace)
        try:
            response = self.get_response(request)
            duration = time.perf_counter() - started
            response["X-Request-ID"] = trace.request_id
            self._record(request, response, trace, duration)
        finally:
            context.unbind(token)
        return response

    @staticmethod
    def _bind_ids(request: HttpRequest) -> context.TraceContext:
        """The request's ids, written back into its headers so every later reader agrees.

        The view copies X-Request-ID and ``traceparent`` into the envelope; with a
        generated id, a generated trace or a malformed header it must still copy the
        ones the logs carry. ``traceparent`` names this request's span as the parent,
        as W3C Trace Context propagation does.
        """
        meta = request.META
        trace = context.context_from_headers({name: meta[key] for name, key in _ID_HEADERS if key in meta})
        meta["HTTP_X_REQUEST_ID"] = trace.request_id
        meta["HTTP_TRACEPARENT"] = context.traceparent(trace)
        request.__dict__.pop("headers", None)  # drop a cached HttpHeaders built before
        return trace

    def _record(
        self, request: HttpRequest, response: HttpResponse, trace: context.TraceContext, duration: float
    ) -> None:
        route = route_of(request)
        tenant_id = tenant_of(request, trace)
        size = body_size(request)
        try:
            metrics.record_request(
                method=request.method or "",
                route=route,
                status=response.status_code,
                tenant_id=tenant_id,
                duration=duration,
                body_bytes=size,
            )
        except Exception:
            logger.warning("request metrics could not be recorded", exc_info=True)
        level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
        if response.status_code >= 500:
            level = logging.ERROR
        if logger.isEnabledFor(level):
            _log_request(level, request, response, route, tenant_id, size, duration)


def _log_request(
    level: int,
    request: HttpRequest,
    response: HttpResponse,
    route: str,
    tenant_id: str,
    size: int | None,
    duration: float,
) -> None:
    """The request's one line (docs/observability.md), through the logger's own handlers and filters.

    The record is made and handled as ``logger.log`` would, with this function as
    its source location, but without ``findCaller``'s walk up the stack to find
    it: the line is written on every request.
    """
    meta = request.META
    path = request.path[:2048]
    http_request = {
        "requestMethod": request.method,
        "requestUrl": path,
        "status": response.status_code,
        "latency": f"{duration:.6f}s",
        "userAgent": meta.get("HTTP_USER_AGENT", "")[:512],
        "remoteIp": meta.get("REMOTE_ADDR", ""),
        "protocol": meta.get("SERVER_PROTOCOL", ""),
    }
    if size is not None:
        http_request["requestSize"] = str(size)
    if not response.streaming:
        http_request["responseSize"] = str(len(response.content))
    extra = {"httpRequest": http_request, "route": route, "latency_ms": round(duration * 1000, 3)}
    if tenant_id:
        extra["tenant_id"] = tenant_id
    frame = sys._getframe()
    code = frame.f_code
    record = logger.makeRecord(
        logger.name,
        level,
        code.co_filename,
        frame.f_lineno,
        "%s %s %s",
        (request.method, path, response.status_code),
        None,
        code.co_name,
        extra,
    )
    logger.handle(record)
