"""Correlation data taken from request headers: the request id and the caller's trace.

Both travel in the envelope so a log line of the worker can be tied back to the
request that queued it. Header values are only taken when well formed: they end up
in structured logs and must not carry arbitrary client bytes there.
"""

from __future__ import annotations

import re
import uuid

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
# W3C Trace Context: version-traceid-parentid-flags.
_TRACEPARENT_RE = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
# Google's X-Cloud-Trace-Context: TRACE_ID[/SPAN_ID][;o=OPTIONS].
_CLOUD_TRACE_RE = re.compile(r"[0-9a-fA-F]{32}(/[0-9]{1,20})?(;o=[0-9]{1,2})?")


def request_id_from(meta: dict) -> str:
    """The client's ``X-Request-ID`` when well formed, else a new UUID4."""
    supplied = meta.get("HTTP_X_REQUEST_ID")
    if supplied and _REQUEST_ID_RE.fullmatch(supplied):
        return supplied
    return str(uuid.uuid4())


def trace_from(meta: dict) -> str:
    """The caller's trace header, verbatim (``traceparent`` preferred), or "" when absent or malformed."""
    traceparent = meta.get("HTTP_TRACEPARENT", "").strip()
    if _TRACEPARENT_RE.fullmatch(traceparent):
        return traceparent
    cloud_trace = meta.get("HTTP_X_CLOUD_TRACE_CONTEXT", "").strip()
    if _CLOUD_TRACE_RE.fullmatch(cloud_trace):
        return cloud_trace
    return ""
