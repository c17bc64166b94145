"""Recording what became of one delivery in the log store, and what the queue should do next.

``processing.worker.decide`` runs the work and then calls one of these; each
writes the store and answers an ``Outcome``:

- success: ``store.save_result``, ack (a duplicate caught by the idempotent save
  acks too, counted as a duplicate);
- the work raised: ``store.record_failure`` counts the attempt; at
  ``WORKER_MAX_ATTEMPTS`` the log is marked dead-lettered and the message
  dead-lettered, otherwise retried after an exponential backoff
  (``WORKER_BACKOFF_BASE_SECONDS * 2**(attempts-1)``, capped at
  ``WORKER_BACKOFF_MAX_SECONDS``);
- the store is unreachable: retry with a backoff from the delivery attempt,
  without counting an attempt, so a store outage never dead-letters a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError

from core.cursors import parse_received_at
from core.envelope import LogEnvelope
from core.records import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, ProcessedLog
from dataproc_site.observability import metrics
from processing.pipeline import WorkResult
from tenants.retention import retention_for
from tenants.stores import BaseLogStore, StoreUnavailable

ACK = "ack"
RETRY = "retry"
DEAD_LETTER = "dead_letter"
ACTIONS = (ACK, RETRY, DEAD_LETTER)

MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Outcome:
    """What to do with the message after one delivery.

    ``status`` is the log's status in the store afterwards ("" when the store
    could not be reached); ``attempts`` its failed-or-successful attempts so far
    (0 when unknown).
    """

    action: str
    delay_seconds: float = 0.0
    status: str = ""
    error: str = ""
    attempts: int = 0


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff after ``attempts`` failures (at least one), capped."""
    exponent = max(attempts, 1) - 1
    base = settings.WORKER_BACKOFF_BASE_SECONDS
    cap = settings.WORKER_BACKOFF_MAX_SECONDS
    # Bound the exponent so a huge attempt count cannot overflow the float.
    return min(base * 2 ** min(exponent, 64), cap)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]


def retention_of(envelope: LogEnvelope):
    """The tenant's retention for this log; the registry being unreachable is a store outage.

    Never a default: writing a record without its tenant's retention could keep
    original text a tenant asked never to store.
    """
    try:
        return retention_for(envelope.tenant_id, parse_received_at(envelope.received_at))
    except DatabaseError as exc:
        raise StoreUnavailable(f"tenant registry unavailable: {exc}") from exc


def already_processed(envelope: LogEnvelope, attempts: int) -> Outcome:
    metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_DUPLICATE)
    return Outcome(ACK, status=STATUS_PROCESSED, attempts=attempts)


def record_success(
    store: BaseLogStore,
    envelope: LogEnvelope,
    result: WorkResult,
    *,
    message_id: str,
    processed_at: datetime,
    attempt: int,
) -> Outcome:
    with metrics.store_write("save_result"):
        saved = store.save_result(
            envelope,
            modified_data=result.modified_data,
            message_id=message_id,
            processed_at=processed_at,
            findings=result.findings,
            policy_version=result.policy_version,
            attributes=result.attributes,
            retention=retention_of(envelope),
        )
    return _saved(envelope, result, saved=saved, attempt=attempt)


@dataclass(frozen=True)
class Success:
    """One first delivery's successful work, waiting to be stored with others (``record_successes``)."""

    envelope: LogEnvelope
    result: WorkResult
    message_id: str


def record_successes(
    store: BaseLogStore, successes: list[Success], *, processed_at: datetime
) -> list[Outcome]:
    """``record_success`` for several first attempts at once: one ``save_results`` for all.

    ``StoreUnavailable`` propagates (nothing of the batch is then known to be saved).
    """
    processed = [
        ProcessedLog(
            envelope=success.envelope,
            modified_data=success.result.modified_data,
            message_id=success.message_id,
            processed_at=processed_at,
            findings=success.result.findings,
            policy_version=success.result.policy_version,
            attributes=success.result.attributes,
            retention=retention_of(success.envelope),
        )
        for success in successes
    ]
    with metrics.store_write("save_result"):
        saved = store.save_results(processed)
    return [
        _saved(success.envelope, success.result, saved=was_saved, attempt=1)
        for success, was_saved in zip(successes, saved, strict=True)
    ]


def _saved(envelope: LogEnvelope, result: WorkResult, *, saved: bool, attempt: int) -> Outcome:
    if not saved:  # processed by an earlier delivery or an earlier copy: nothing changed
        return already_processed(envelope, attempt)
    metrics.record_processed(envelope)
    metrics.record_findings(result.findings)
    return Outcome(ACK, status=STATUS_PROCESSED, attempts=attempt)


def record_failure(store: BaseLogStore, envelope: LogEnvelope, *, error: str, message_id: str) -> Outcome:
    with metrics.store_write("record_failure"):
        attempts = store.record_failure(
            envelope,
            error=error,
            message_id=message_id,
            retention=retention_of(envelope),
        )
    if attempts < settings.WORKER_MAX_ATTEMPTS:
        metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_RETRIED)
        return Outcome(
            RETRY,
            delay_seconds=backoff_seconds(attempts),
            status=STATUS_RETRYING,
            error=error,
            attempts=attempts,
        )
    with metrics.store_write("mark_dead_lettered"):
        store.mark_dead_lettered(envelope.tenant_id, envelope.log_id)
    record = store.get(envelope.tenant_id, envelope.log_id)
    if record is not None and record.status == STATUS_PROCESSED:
        # Another delivery succeeded meanwhile: nothing is dead, the message is done.
        return already_processed(envelope, record.attempts)
    metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_DEAD_LETTERED)
    return Outcome(DEAD_LETTER, status=STATUS_DEAD_LETTERED, error=error, attempts=attempts)


def store_unavailable(envelope: LogEnvelope, *, delivery_attempt: int, error: str) -> Outcome:
    metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_RETRIED)
    return Outcome(RETRY, delay_seconds=backoff_seconds(delivery_attempt), error=error)
