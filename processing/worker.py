"""One delivery of one log: run the work, record the outcome, tell the queue what to do.

``decide`` holds the rules; the pull worker (``run_worker``) and the Pub/Sub push
endpoint both call it, so both paths behave identically. The work itself is
``processing.pipeline.handle``; what is written to the store for each outcome is
``processing.outcomes``. A redelivery of a log already ``processed`` acks without
doing the work again; a message's first delivery does not look first (most logs
have no record yet), and a duplicate is then caught by the idempotent save.

``apply_outcome`` turns the decision into ack / nack / dead-letter on a pulled
message; ``process_message`` is both plus the one log line per outcome;
``expire_message`` is what a consumer does with a message past its work deadline.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

from django.utils import timezone

from core.envelope import LogEnvelope
from dataproc_site.observability import metrics
from dataproc_site.observability.context import bound_to_envelope
from processing import outcomes, pipeline
from processing.db import release_thread_connections
from processing.outcomes import ACK, DEAD_LETTER, RETRY, Outcome
from processing.queues.base import BaseQueue, ReceivedMessage
from tenants.stores import STATUS_PROCESSED, BaseLogStore, StoreUnavailable, get_store

logger = logging.getLogger(__name__)

__all__ = [
    "ACK",
    "DEAD_LETTER",
    "RETRY",
    "Outcome",
    "apply_outcome",
    "decide",
    "log_outcome",
    "process_message",
    "work_on",
]

# Work shorter than this keeps its database connection; longer work hands it back
# first (see processing.db). Low, so that a hundred handler threads never hold a
# hundred PostgreSQL connections (the server's default limit) through their sleeps.
RELEASE_CONNECTIONS_AFTER_SECONDS = 0.2

# Held around the work (not around storing its result) when a consumer sets one:
# the streaming consumer runs more handler threads than logs it works on at once.
_work_gate: contextvars.ContextVar[AbstractContextManager | None] = contextvars.ContextVar(
    "processing_work_gate", default=None
)


@contextlib.contextmanager
def work_gated_by(gate: AbstractContextManager) -> Iterator[None]:
    """Within the block, ``decide`` holds ``gate`` for the work itself."""
    token = _work_gate.set(gate)
    try:
        yield
    finally:
        _work_gate.reset(token)


def current_work_gate() -> AbstractContextManager:
    """What the work is held under right now: the consumer's gate, or nothing."""
    return _work_gate.get() or contextlib.nullcontext()


def decide(
    envelope: LogEnvelope, *, message_id: str, delivery_attempt: int, store: BaseLogStore | None = None
) -> Outcome:
    """Process one delivery of ``envelope`` and return what the queue should do with it.

    Log lines written meanwhile carry the envelope's request id and trace; the
    worker metrics (outcomes, timings, in flight) are recorded here, so the pull
    worker and the push endpoint count alike.
    """
    with bound_to_envelope(envelope), metrics.in_flight():
        store = store or get_store()
        try:
            return _decide(envelope, message_id=message_id, delivery_attempt=delivery_attempt, store=store)
        except StoreUnavailable as exc:
            return outcomes.store_unavailable(
                envelope, delivery_attempt=delivery_attempt, error=outcomes.describe(exc)
            )


def _decide(envelope: LogEnvelope, *, message_id: str, delivery_attempt: int, store: BaseLogStore) -> Outcome:
    existing = None if delivery_attempt == 1 else store.get(envelope.tenant_id, envelope.log_id)
    if existing is not None and existing.status == STATUS_PROCESSED:
        return outcomes.already_processed(envelope, existing.attempts)
    attempt = (existing.attempts if existing is not None else 0) + 1
    result = work_on(envelope, message_id=message_id, attempt=attempt, store=store)
    if isinstance(result, Outcome):
        return result
    return outcomes.record_success(
        store,
        envelope,
        result,
        message_id=message_id,
        processed_at=timezone.now(),
        attempt=attempt,
    )


def work_on(
    envelope: LogEnvelope, *, message_id: str, attempt: int, store: BaseLogStore
) -> pipeline.WorkResult | Outcome:
    """Run the work on ``envelope``: its result, or the outcome of a failed attempt (recorded).

    ``StoreUnavailable`` (the tenant's policy could not be read) propagates: an
    outage, not the log's failure.
    """
    if pipeline.simulated_work_seconds(envelope.text) >= RELEASE_CONNECTIONS_AFTER_SECONDS:
        release_thread_connections()
    try:
        with current_work_gate(), metrics.processing_timer():
            return pipeline.handle(envelope, attempt=attempt)
    except StoreUnavailable:
        raise
    except Exception as exc:
        return outcomes.record_failure(store, envelope, error=outcomes.describe(exc), message_id=message_id)


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
        started = time.monotonic()
        outcome = decide(
            message.envelope,
            message_id=message.message_id,
            delivery_attempt=message.delivery_attempt,
            store=store,
        )
        apply_outcome(queue, message, outcome)
        log_outcome(message, outcome, time.monotonic() - started)
        return outcome


def expire_message(
    queue: BaseQueue, message: ReceivedMessage, ran_seconds: float, *, store: BaseLogStore | None = None
) -> Outcome:
    """A message past its work deadline: count the attempt as failed, then retry or dead-letter it."""
    envelope = message.envelope
    with bound_to_envelope(envelope):
        error = f"WorkDeadlineExceeded: still running after {ran_seconds:.0f} s"
        try:
            outcome = outcomes.record_failure(
                store or get_store(), envelope, error=error, message_id=message.message_id
            )
        except StoreUnavailable as exc:
            outcome = outcomes.store_unavailable(
                envelope, delivery_attempt=message.delivery_attempt, error=outcomes.describe(exc)
            )
        apply_outcome(queue, message, outcome)
        log_outcome(message, outcome, ran_seconds)
        return outcome


def log_outcome(message: ReceivedMessage, outcome: Outcome, duration_seconds: float) -> None:
    """The one line per delivery: ids and outcome, never the text (the caller binds its context)."""
    envelope = message.envelope
    fields = {
        "tenant_id": envelope.tenant_id,
        "log_id": envelope.log_id,
        "message_id": message.message_id,
        "outcome": outcome.action,
        "status": outcome.status,
        "attempts": outcome.attempts,
        "delivery_attempt": message.delivery_attempt,
        "duration_seconds": round(duration_seconds, 3),
    }
    if outcome.action == ACK:
        logger.info("log processed", extra=fields)
        return
    fields["delay_seconds"] = outcome.delay_seconds
    # The exception type only: an exception's message could quote the log's text.
    fields["error_type"] = outcome.error.split(":", 1)[0]
    if outcome.action == DEAD_LETTER:
        logger.error("log dead-lettered", extra=fields)
    else:
        logger.warning("log retry scheduled", extra=fields)
