"""Every Prometheus metric dataproc exports, and small functions to record them.

Call sites use the functions (``record_request``, ``publish_timer``, ``record_outcome``
...) rather than the metric objects, so label names and bounds live in one place:
``tenant`` always goes through ``tenant_label`` (known tenants or ``other``), ``route``
is the URL pattern, never the raw path.

Metrics live in prometheus-client's default registry. Under gunicorn, which runs
several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` (set by gunicorn.conf.py)
switches prometheus-client to its multiprocess mode and ``/metrics`` merges every
process's values (see ``exposition``).
"""

from __future__ import annotations

import collections
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from dataproc_site.observability.tenant_labels import tenant_label

# No ``*_created`` series: they double the series count for a timestamp Prometheus
# does not need, and multiprocess mode (the API) cannot export them anyway.
disable_created_metrics()

# Latency of things a request or a message waits for: milliseconds to seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Simulated processing runs 0.05 s per character: seconds to minutes.
_PROCESSING_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# Received -> processed spans backoff and backlog: seconds to hours.
_AGE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0)
_BODY_BUCKETS = (64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)

# --- API -------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "dataproc_http_requests",
    "HTTP requests answered, by method, URL route, status code and tenant.",
    ["method", "route", "status", "tenant"],
)
HTTP_REQUEST_DURATION = Histogram(
    "dataproc_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_REQUEST_BODY = Histogram(
    "dataproc_http_request_body_bytes",
    "Size of request bodies, by method and URL route.",
    ["method", "route"],
    buckets=_BODY_BUCKETS,
)
INGEST_PUBLISH_DURATION = Histogram(
    "dataproc_ingest_publish_duration_seconds",
    "Time /ingest waits for the queue to acknowledge a publish (one log or one batch).",
    buckets=_LATENCY_BUCKETS,
)
INGEST_PUBLISH_FAILURES = Counter(
    "dataproc_ingest_publish_failures",
    "Publishes the queue refused or did not acknowledge (the client got 503).",
    ["reason"],
)
INGEST_LOGS_ACCEPTED = Counter(
    "dataproc_ingest_logs_accepted",
    "Logs queued by /ingest and /v1/logs (a batch counts each of its records), by tenant.",
    ["tenant"],
)
INGEST_LOGS_REJECTED = Counter(
    "dataproc_ingest_logs_rejected",
    "Records the intake rejected and did not queue (a partial success's errors, or a batch with none valid), "
    "by tenant and reason (the error code).",
    ["tenant", "reason"],
)
INGEST_QUEUE_FULL = Counter(
    "dataproc_ingest_queue_full_requests",
    "Uploads refused because the queue had no room for them (INGEST_MAX_QUEUED_LOGS_PER_TENANT: "
    "scope tenant, 429; INGEST_MAX_QUEUED_LOGS: scope total, 503), by scope and tenant.",
    ["scope", "tenant"],
)
INGEST_THROTTLED = Counter(
    "dataproc_ingest_throttled_requests",
    "Requests refused with 429 because the tenant was over its rate, by tenant.",
    ["tenant"],
)

# --- Worker ----------------------------------------------------------------------

WORKER_LOGS = Counter(
    "dataproc_worker_logs",
    "Deliveries handled by the worker, by tenant and outcome (processed, duplicate, retried, dead_lettered).",
    ["tenant", "outcome"],
)
WORKER_PROCESSING_DURATION = Histogram(
    "dataproc_worker_processing_duration_seconds",
    "Time spent in the pipeline for one delivery, by result (success, error).",
    ["result"],
    buckets=_PROCESSING_BUCKETS,
)
WORKER_END_TO_END_AGE = Histogram(
    "dataproc_worker_end_to_end_seconds",
    "Age of a log when it is stored as processed: accepted by /ingest -> processed.",
    buckets=_AGE_BUCKETS,
)
WORKER_IN_FLIGHT = Gauge(
    "dataproc_worker_in_flight",
    "Messages being processed right now.",
    multiprocess_mode="livesum",
)
WORKER_LEASE_EXPIRIES = Counter(
    "dataproc_worker_lease_expiries",
    "Messages whose lease ran out or was lost while this worker held them (another may redo them).",
)
WORKER_HELD_BACK = Counter(
    "dataproc_worker_held_back",
    "Pub/Sub deliveries given back with a short delay because their tenant held its share of the "
    "worker's work slots (WORKER_TENANT_MAX_SHARE), by tenant.",
    ["tenant"],
)
STORE_WRITE_DURATION = Histogram(
    "dataproc_store_write_duration_seconds",
    "Time of one write to the log store, by operation.",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
STORE_WRITE_FAILURES = Counter(
    "dataproc_store_write_failures",
    "Writes to the log store that raised, by operation.",
    ["operation"],
)

# Redaction findings stored by the worker, by detector: the built-in detectors by name,
# every tenant's custom rules under one label, so tenants' rule names never become series.
REDACTION_DETECTOR_LABELS = ("phone", "email", "card", "ssn", "iban", "ip")
REDACTION_CUSTOM_LABEL = "custom"
REDACTION_FINDINGS = Counter(
    "dataproc_redaction_findings",
    "Values redacted in the logs the worker stored (text and attributes), by detector "
    "(phone, email, card, ssn, iban, ip; every custom rule as custom).",
    ["detector"],
)
for _detector in (*REDACTION_DETECTOR_LABELS, REDACTION_CUSTOM_LABEL):
    REDACTION_FINDINGS.labels(_detector)  # every series exists from the start, at 0

OUTCOME_PROCESSED = "processed"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_RETRIED = "retried"
OUTCOME_DEAD_LETTERED = "dead_lettered"

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# --- API recording -----------------------------------------------------------------


# The labelled series each answered request moves, by (method, route, status, tenant):
# looking them up through labels() (a lock and a tuple each) was most of the cost of
# recording a request. Bounded like the labels themselves; past the bound, labels() again.
_request_series: dict[tuple[str, str, int, str], tuple] = {}
_MAX_REQUEST_SERIES = 10_000


def record_request(
    *, method: str, route: str, status: int, tenant_id: str | None, duration: float, body_bytes: int | None
) -> None:
    """One answered HTTP request (called by the request middleware)."""
    method = method if method in _KNOWN_METHODS else "other"
    tenant = tenant_label(tenant_id)
    key = (method, route, status, tenant)
    series = _request_series.get(key)
    if series is None:
        series = (
            HTTP_REQUESTS.labels(method, route, str(status), tenant),
            HTTP_REQUEST_DURATION.labels(method, route),
            HTTP_REQUEST_BODY.labels(method, route),
        )
        if len(_request_series) < _MAX_REQUEST_SERIES:
            _request_series[key] = series
    requests, durations, bodies = series
    requests.inc()
    durations.observe(duration)
    if body_bytes is not None:
        bodies.observe(body_bytes)
    if status == 429:
        INGEST_THROTTLED.labels(tenant).inc()


@contextmanager
def publish_timer() -> Iterator[None]:
    """Time one publish to the queue; an exception counts as a publish failure and propagates."""
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        INGEST_PUBLISH_FAILURES.labels(type(exc).__name__).inc()
        raise
    finally:
        INGEST_PUBLISH_DURATION.observe(time.perf_counter() - started)


def record_publish_failure(reason: str) -> None:
    """A publish that did not raise but still failed (the queue acknowledged only some logs)."""
    INGEST_PUBLISH_FAILURES.labels(reason).inc()


def record_accepted(envelopes: Iterable) -> None:
    """The queue holds ``envelopes``: count them per tenant."""
    for tenant_id, count in collections.Counter(envelope.tenant_id for envelope in envelopes).items():
        INGEST_LOGS_ACCEPTED.labels(tenant_label(tenant_id)).inc(count)


# Rejection reasons are the intake's error codes, a small fixed set; anything else
# that reaches here is counted as "other" so no caller can grow the series.
_REASON_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MAX_REASONS = 32
_reasons_seen: set[str] = set()


def _reason_label(reason: str) -> str:
    if reason in _reasons_seen:
        return reason
    if not _REASON_RE.fullmatch(reason) or len(_reasons_seen) >= _MAX_REASONS:
        return "other"
    _reasons_seen.add(reason)
    return reason


def record_rejected(tenant_id: str | None, reasons: Mapping[str, int]) -> None:
    """Records of ``tenant_id`` the intake rejected: how many for each reason (error code)."""
    tenant = tenant_label(tenant_id)
    for reason, count in reasons.items():
        if count > 0:
            INGEST_LOGS_REJECTED.labels(tenant, _reason_label(reason)).inc(count)


def record_queue_full(scope: str, tenant_id: str) -> None:
    """An upload was refused for want of room in the queue (``scope``: ``tenant`` or ``total``)."""
    INGEST_QUEUE_FULL.labels(scope, tenant_label(tenant_id)).inc()


# --- Worker recording ----------------------------------------------------------------


def record_outcome(tenant_id: str, outcome: str) -> None:
    """One delivery ended as ``processed``, ``duplicate``, ``retried`` or ``dead_lettered``."""
    WORKER_LOGS.labels(tenant_label(tenant_id), outcome).inc()


def record_processed(envelope) -> None:
    """``envelope``'s log was just stored as processed: count it and observe its age."""
    record_outcome(envelope.tenant_id, OUTCOME_PROCESSED)
    record_end_to_end(envelope.received_at)


def record_end_to_end(received_at: str | datetime | None, processed_at: datetime | None = None) -> None:
    """Observe received -> processed for one log (``received_at`` as the envelope holds it)."""
    if not received_at:
        return
    try:
        received = datetime.fromisoformat(received_at) if isinstance(received_at, str) else received_at
    except ValueError:
        return
    if received.tzinfo is None:
        received = received.replace(tzinfo=UTC)
    age = ((processed_at or datetime.now(UTC)) - received).total_seconds()
    WORKER_END_TO_END_AGE.observe(max(age, 0.0))


@contextmanager
def processing_timer() -> Iterator[None]:
    """Time the pipeline for one delivery, split by success and error."""
    started = time.perf_counter()
    result = "error"
    try:
        yield
        result = "success"
    finally:
        WORKER_PROCESSING_DURATION.labels(result).observe(time.perf_counter() - started)


@contextmanager
def in_flight() -> Iterator[None]:
    """Count a message as being processed for the duration of the block."""
    WORKER_IN_FLIGHT.inc()
    try:
        yield
    finally:
        WORKER_IN_FLIGHT.dec()


def record_findings(findings: dict[str, int]) -> None:
    """One stored log's findings (``{detector: count}``; ``custom:<rule>`` counts as ``custom``)."""
    for detector, count in findings.items():
        label = detector if detector in REDACTION_DETECTOR_LABELS else REDACTION_CUSTOM_LABEL
        if count > 0:
            REDACTION_FINDINGS.labels(label).inc(count)


def record_lease_expired(count: int = 1) -> None:
    WORKER_LEASE_EXPIRIES.inc(count)


def record_held_back(tenant_id: str) -> None:
    """A streaming worker gave a delivery back: its tenant held its share of the work slots."""
    WORKER_HELD_BACK.labels(tenant_label(tenant_id)).inc()


@contextmanager
def store_write(operation: str) -> Iterator[None]:
    """Time one store write (``save_result``, ``record_failure``...); count it if it raises."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        STORE_WRITE_FAILURES.labels(operation).inc()
        raise
    finally:
        STORE_WRITE_DURATION.labels(operation).observe(time.perf_counter() - started)
