"""Who a log line is about: the request id and trace of the work being done right now.

The request middleware binds a context per HTTP request; the worker binds one per
message from the ids the envelope carried. The JSON log formatter reads it, so every
line written meanwhile (by any module, through any logger) carries the same
``request_id`` and Cloud Logging trace without each call site passing them along.
A ``ContextVar`` keeps gunicorn's threads (and the worker's) apart.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

# What a client may send as X-Request-ID: echoed into logs and stored on records, so
# bounded and free of anything a log viewer could misread.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
# X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS (span id decimal, o=1 sampled).
_CLOUD_TRACE_RE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d{1,20}))?(?:;o=(\d))?$")
# W3C traceparent: version-traceid-parentid-flags.
_TRACEPARENT_RE = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass
class TraceContext:
    """One unit of work: an HTTP request or the processing of one queued log."""

    request_id: str
    # 32 lowercase hex characters, as Cloud Trace and W3C Trace Context write it.
    trace_id: str
    # 16 lowercase hex characters: this process's span of the trace.
    span_id: str
    sampled: bool = False
    # Filled in by the view once it knows (the middleware cannot: it is in the body).
    tenant_id: str = ""
    # The queued log being processed (worker contexts only).
    log_id: str = ""


_current: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar("dataproc_trace", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


# RFC 4122's variant: the top two bits of byte 8 are 10, so its hex digit is 8-b.
_VARIANT_DIGITS = "89ab"


def fresh_ids() -> tuple[str, str, str]:
    """A new request id (a version 4 UUID's hex, as ``new_request_id``), trace id and span id.

    One read of the system's randomness for all three, and no ``UUID`` object: a
    request without ids of its own needs all three, and making them one by one was
    a measurable part of every such request.
    """
    digits = os.urandom(40).hex()
    request_id = f"{digits[:12]}4{digits[13:16]}{_VARIANT_DIGITS[int(digits[16], 16) & 3]}{digits[17:32]}"
    return request_id, digits[32:64], digits[64:80]


def clean_request_id(value: str | None) -> str | None:
    """A client-sent request id if it is safe to log and store, else None."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return None


def parse_trace_headers(headers: Mapping[str, str]) -> tuple[str, str, bool] | None:
    """``(trace_id, parent_span_id, sampled)`` from ``traceparent`` or ``X-Cloud-Trace-Context``.

    ``traceparent`` wins when both are present (Cloud Run sends both, and the W3C
    header is the one other tracers propagate). Malformed headers are ignored: a
    trace header never makes a request fail.
    """
    traceparent = (headers.get("traceparent") or "").strip().lower()
    match = _TRACEPARENT_RE.match(traceparent)
    if match and match.group(1) != "ff" and match.group(2) != _ZERO_TRACE and match.group(3) != _ZERO_SPAN:
        return match.group(2), match.group(3), bool(int(match.group(4), 16) & 1)
    cloud = (headers.get("X-Cloud-Trace-Context") or "").strip()
    match = _CLOUD_TRACE_RE.match(cloud)
    if match and match.group(1).lower() != _ZERO_TRACE:
        span = match.group(2)
        # Cloud Trace writes the span id in decimal; Cloud Logging wants 16 hex digits.
        parent_span = f"{int(span) & 0xFFFFFFFFFFFFFFFF:016x}" if span else ""
        return match.group(1).lower(), parent_span, match.group(3) == "1"
    return None


def context_from_headers(headers: Mapping[str, str]) -> TraceContext:
    """The context of an incoming HTTP request: its ids if it brought valid ones, fresh ones if not."""
    if not headers:
        request_id, trace_id, span_id = fresh_ids()
        return TraceContext(request_id=request_id, trace_id=trace_id, span_id=span_id)
    request_id = clean_request_id(headers.get("X-Request-ID")) or new_request_id()
    parsed = parse_trace_headers(headers)
    if parsed:
        trace_id, _parent_span, sampled = parsed
    else:
        trace_id, sampled = new_trace_id(), False
    return TraceContext(request_id=request_id, trace_id=trace_id, span_id=new_span_id(), sampled=sampled)


def context_for_envelope(envelope) -> TraceContext:
    """The context of processing one queued log: the ids its HTTP request put in the envelope.

    ``envelope.trace`` may hold a ``traceparent``, an ``X-Cloud-Trace-Context`` value
    or a bare trace id. The worker gets a span of its own within that trace. An
    envelope queued without ids gets fresh ones, so its lines still group.
    """
    trace = (getattr(envelope, "trace", "") or "").strip()
    parsed = parse_trace_headers({"traceparent": trace, "X-Cloud-Trace-Context": trace})
    if parsed:
        trace_id, _parent_span, sampled = parsed
    elif re.fullmatch(r"[0-9a-fA-F]{32}", trace) and trace != _ZERO_TRACE:
        trace_id, sampled = trace.lower(), False
    else:
        trace_id, sampled = new_trace_id(), False
    return TraceContext(
        request_id=clean_request_id(getattr(envelope, "request_id", "")) or new_request_id(),
        trace_id=trace_id,
        span_id=new_span_id(),
        sampled=sampled,
        tenant_id=getattr(envelope, "tenant_id", "") or "",
        log_id=getattr(envelope, "log_id", "") or "",
    )


def traceparent(context: TraceContext) -> str:
    """``context`` as a W3C ``traceparent`` value (what the envelope carries on)."""
    return f"00-{context.trace_id}-{context.span_id}-{'01' if context.sampled else '00'}"


def current() -> TraceContext | None:
    """The context bound to this thread of work, if any."""
    return _current.get()


def current_request_id() -> str:
    """The request id to put in an envelope (empty outside a request)."""
    context = _current.get()
    return context.request_id if context else ""


def current_trace_id() -> str:
    """The trace id to put in an envelope (empty outside a request)."""
    context = _current.get()
    return context.trace_id if context else ""


def set_tenant(tenant_id: str) -> None:
    """Record which tenant the current request is for (the view knows; the middleware does not)."""
    context = _current.get()
    if context is not None and tenant_id:
        # Mutated in place, not re-bound: the middleware holds this same object.
        context.tenant_id = tenant_id


def bind(context: TraceContext) -> contextvars.Token:
    """Bind ``context`` until ``unbind(token)``: ``bound`` without a generator, for once per request."""
    return _current.set(context)


def unbind(token: contextvars.Token) -> None:
    """Restore the context bound before the ``bind`` that returned ``token``."""
    _current.reset(token)


@contextmanager
def bound(context: TraceContext) -> Iterator[TraceContext]:
    """Bind ``context`` for the duration of the block, restoring the previous one after."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def bound_to_envelope(envelope) -> Iterator[TraceContext]:
    """Bind the context of processing ``envelope`` (worker and push endpoint).

    Already inside that envelope's context (``process_message`` around ``decide``),
    it keeps it: one delivery, one span.
    """
    existing = _current.get()
    if (
        existing is not None
        and existing.log_id
        and (existing.tenant_id, existing.log_id) == (envelope.tenant_id, envelope.log_id)
    ):
        yield existing
        return
    with bound(context_for_envelope(envelope)) as context:
        yield context
