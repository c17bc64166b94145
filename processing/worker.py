"""One delivery of one log: run the pipeline, record the result, say what the queue should do.

``decide`` holds every rule; the pull worker (``run_worker``) and the Pub/Sub push
endpoint both call it, so both paths behave identically:

- already ``processed`` in the store: ack without doing the work again (a
  redelivery changes nothing); a message's first delivery does not look first,
  and a duplicate is then caught by the idempotent save instead;
- success: ``store.save_result``, ack;
- the pipeline raises: ``store.record_failure`` counts the attempt; at
  ``WORKER_MAX_ATTEMPTS`` the log is marked dead-lettered and the message
  dead-lettered, otherwise retried after an exponential backoff
  (``WORKER_BACKOFF_BASE_SECONDS * 2**(attempts-1)``, capped at
  ``WORKER_BACKOFF_MAX_SECONDS``);
- the store is unreachable (``StoreUnavailable``): retry with a backoff from the
  delivery attempt, without counting an attempt, so a store outage never
  dead-letters a log.

``apply_outcome`` turns the decision into ack / nack / dead-letter on a pulled
message; ``process_message`` is both plus the one log line per outcome.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.envelope import LogEnvelope
from dataproc_site.observability import metrics
from dataproc_site.observability.context import bound_to_envelope
from processing import pipeline
from processing.db import release_thread_connections
from processing.queues.base import BaseQueue, ReceivedMessage
from tenants.stores import (
    STATUS_DEAD_LETTERED,
    STATUS_PROCESSED,
    STATUS_RETRYING,
    BaseLogStore,
    StoreUnavailable,
    get_store,
)

logger = logging.getLogger(__name__)

ACK = "ack"
RETRY = "retry"
DEAD_LETTER = "dead_letter"
ACTIONS = (ACK, RETRY, DEAD_LETTER)

# Work shorter than this keeps its database connection; longer work hands it back
# first (see processing.db). Low, so that a hundred handler threads never hold a
# hundred PostgreSQL connections (the server's default limit) through their sleeps.
RELEASE_CONNECTIONS_AFTER_SECONDS = 0.2
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


def decide(
    envelope: LogEnvelope,
    *,
    message_id: str,
    delivery_attempt: int,
    store: BaseLogStore | None = None,
    work_slots: threading.Semaphore | None = None,
) -> Outcome:
    """Process one delivery of ``envelope`` and return what the queue should do with it.

    Log lines written meanwhile carry the envelope's request id and trace; the
    worker metrics (outcomes, timings, in flight) are recorded here, so the pull
    worker and the push endpoint count alike. ``work_slots``, when given, is held
    for the work itself only, so that a consumer can store some logs' results while
    as many others as it has slots are being worked on.
    """
    with bound_to_envelope(envelope), metrics.in_flight():
        return _decide(
            envelope,
            message_id=message_id,
            delivery_attempt=delivery_attempt,
            store=store,
            work_slots=work_slots,
        )


def _decide(
    envelope: LogEnvelope,
    *,
    message_id: str,
    delivery_attempt: int,
    store: BaseLogStore | None,
    work_slots: threading.Semaphore | None,
) -> Outcome:
    store = store or get_store()
    try:
        # A message's first delivery skips the read: most logs have no record yet, and
        # a duplicate (a client sending a log id again) is still caught, after the
        # work, by the idempotent save. One store round trip fewer per log.
        existing = None if delivery_attempt == 1 else store.get(envelope.tenant_id, envelope.log_id)
        if existing is not None and existing.status == STATUS_PROCESSED:
            metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_DUPLICATE)
            return Outcome(ACK, status=STATUS_PROCESSED, attempts=existing.attempts)
        attempt = (existing.attempts if existing is not None else 0) + 1
        if pipeline.simulated_work_seconds(envelope.text) >= RELEASE_CONNECTIONS_AFTER_SECONDS:
            release_thread_connections()
        try:
            with work_slots or contextlib.nullcontext(), metrics.processing_timer():
                modified_data = pipeline.handle(envelope, attempt=attempt)
        except Exception as exc:
            return _failed(store, envelope, message_id, exc)
        with metrics.store_write("save_result"):
            saved = store.save_result(
                envelope, modified_data=modified_data, message_id=message_id, processed_at=timezone.now()
            )
        if not saved:  # processed by an earlier delivery or an earlier copy: nothing changed
            metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_DUPLICATE)
            return Outcome(ACK, status=STATUS_PROCESSED, attempts=attempt)
        metrics.record_processed(envelope)
        return Outcome(ACK, status=STATUS_PROCESSED, attempts=attempt)
    except StoreUnavailable as exc:
        metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_RETRIED)
        return Outcome(RETRY, delay_seconds=backoff_seconds(delivery_attempt), error=_describe(exc))


def _failed(store: BaseLogStore, envelope: LogEnvelope, message_id: str, exc: Exception) -> Outcome:
    error = _describe(exc)
    with metrics.store_write("record_failure"):
        attempts = store.record_failure(envelope, error=error, message_id=message_id)
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
        metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_DUPLICATE)
        return Outcome(ACK, status=STATUS_PROCESSED, attempts=record.attempts)
    metrics.record_outcome(envelope.tenant_id, metrics.OUTCOME_DEAD_LETTERED)
    return Outcome(DEAD_LETTER, status=STATUS_DEAD_LETTERED, error=error, attempts=attempts)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]


def apply_outcome(queue: BaseQueue, message: ReceivedMessage, outcome: Outcome) -> None:
    """Ack, nack (with the outcome's delay) or dead-letter ``message`` on ``queue``."""
    if outcome.action == ACK:
        queue.ack(message)
    elif outcome.action == RETRY:
        queue.nack(message, outcome.delay_seconds)
    elif outcome.action == DEAD_LETTER:
        queue.dead_letter(message)
    else:
        raise ValueError(f"unknown outcome action {outcome.action!r}")


def process_message(
    queue: BaseQueue, message: ReceivedMessage, *, store: BaseLogStore | None = None
) -> Outcome:
    """Decide, apply, and log one line about it (ids and outcome, never the text)."""
    with bound_to_envelope(message.envelope):  # the line below carries the request id and trace
        return _process_message(queue, message, store=store)


def _process_message(queue: BaseQueue, message: ReceivedMessage, *, store: BaseLogStore | None) -> Outcome:
    started = time.monotonic()
    envelope = message.envelope
    outcome = decide(
        envelope,
        message_id=message.message_id,
        delivery_attempt=message.delivery_attempt,
        store=store,
        work_slots=message.work_slots,
    )
    apply_outcome(queue, message, outcome)
    fields = {
        "tenant_id": envelope.tenant_id,
        "log_id": envelope.log_id,
        "message_id": message.message_id,
        "outcome": outcome.action,
        "status": outcome.status,
        "attempts": outcome.attempts,
        "delivery_attempt": message.delivery_attempt,
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    if outcome.action == ACK:
        logger.info("log processed", extra=fields)
        return outcome
    fields["delay_seconds"] = outcome.delay_seconds
    # The exception type only: an exception's message could quote the log's text.
    fields["error_type"] = outcome.error.split(":", 1)[0]
    if outcome.action == DEAD_LETTER:
        logger.error("log dead-lettered", extra=fields)
    else:
        logger.warning("log retry scheduled", extra=fields)
    return outcome
