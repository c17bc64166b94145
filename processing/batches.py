"""Several quick deliveries on one handler thread: one store write and one ack for all of them.

Without simulated work (``PROCESSING_DELAY_PER_CHAR = 0``, or very short texts) a
log costs the worker a fraction of a millisecond of Python, and what is left is the
bookkeeping around it: a store transaction and a queue transaction per log, and the
hand-offs of sixteen threads taking turns at one GIL to share them
(``dataproc_site.coalescing``). The pull consumer therefore hands the messages of
one claim whose work is quick (``groupable``) to one thread, which runs the work on
each in turn, stores every success with one ``save_results`` and acks them with one
``ack_many``, in one transaction when both are the same database (docs/performance.md,
"Worker").

Each delivery keeps the outcome it would have had alone: its own log line with its
request id and trace, its metrics, a failure recorded and retried (or dead-lettered)
on its own. Redeliveries (``delivery_attempt > 1``), which must look at the store
first, and messages with real simulated work take ``process_message`` one by one.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from django.db import DatabaseError
from django.utils import timezone

from dataproc_site.observability import metrics
from dataproc_site.observability.context import TraceContext, bound, context_for_envelope
from dataproc_site.transactions import write_transaction
from processing import outcomes, pipeline
from processing.outcomes import ACK, Outcome, Success
from processing.queues.base import BaseQueue, QueueUnavailable, ReceivedMessage
from processing.worker import apply_outcome, log_outcome, process_message, work_on
from tenants.stores import BaseLogStore, StoreUnavailable, get_store

# A message whose simulated work is shorter than this is worked on with the rest of
# its claim: waiting for it holds the others back by no more than that.
GROUPABLE_WORK_SECONDS = 0.005


def groupable(message: ReceivedMessage) -> bool:
    """Whether ``message`` may share a handler thread with others (a quick first delivery)."""
    return (
        message.delivery_attempt == 1
        and pipeline.simulated_work_seconds(message.envelope.text) < GROUPABLE_WORK_SECONDS
    )


@dataclass
class _Worked:
    position: int
    message: ReceivedMessage
    success: Success
    started: float
    trace: TraceContext


def process_batch(
    queue: BaseQueue, messages: list[ReceivedMessage], *, store: BaseLogStore | None = None
) -> list[Outcome]:
    """``process_message`` for each of ``messages``, with the successes stored and acked together.

    Returns one outcome per message, in order.
    """
    store = store or get_store()
    answers: list[Outcome | None] = [None] * len(messages)
    worked: list[_Worked] = []
    for position, message in enumerate(messages):
        if message.delivery_attempt != 1:
            answers[position] = process_message(queue, message, store=store)
            continue
        started = time.monotonic()
        # Built once per delivery: bound for the work and again for its log line.
        trace = context_for_envelope(message.envelope)
        result = _work(message, store, trace)
        if isinstance(result, Outcome):
            _finish(queue, message, result, started, trace)
            answers[position] = result
        else:
            success = Success(message.envelope, result, message.message_id)
            worked.append(_Worked(position, message, success, started, trace))
    if worked:
        for item, outcome in zip(worked, _store_and_ack(queue, store, worked), strict=True):
            answers[item.position] = outcome
        for item in worked:
            outcome = answers[item.position]
            with bound(item.trace):
                if outcome.action != ACK:
                    apply_outcome(queue, item.message, outcome)
                log_outcome(item.message, outcome, time.monotonic() - item.started)
    return answers  # type: ignore[return-value]  (every position is answered above)


def _work(
    message: ReceivedMessage, store: BaseLogStore, trace: TraceContext
) -> pipeline.WorkResult | Outcome:
    envelope = message.envelope
    with bound(trace), metrics.in_flight():
        try:
            return work_on(envelope, message_id=message.message_id, attempt=1, store=store)
        except StoreUnavailable as exc:
            return outcomes.store_unavailable(envelope, delivery_attempt=1, error=outcomes.describe(exc))


def _store_and_ack(queue: BaseQueue, store: BaseLogStore, worked: list[_Worked]) -> list[Outcome]:
    """One ``save_results`` for every success, then one ``ack_many`` for those stored.

    When the queue and the store write to the same database (the embedded
    backends), both happen in one transaction: one commit less per batch, and a
    result is never stored without its message acked or the other way round. A
    store or queue outage then undoes both, and every message is retried later.
    """
    shared = queue.database_alias is not None and queue.database_alias == store.database_alias
    try:
        with write_transaction(using=queue.database_alias) if shared else contextlib.nullcontext():
            stored = _store_all(store, worked)
            acked = [
                item.message for item, outcome in zip(worked, stored, strict=True) if outcome.action == ACK
            ]
            if acked:
                queue.ack_many(acked)
    except (DatabaseError, QueueUnavailable) as exc:
        if not shared:
            raise  # the results are stored; the consumer gives the messages back (a redelivery acks)
        return _retry_all(worked, exc)
    return stored


def _store_all(store: BaseLogStore, worked: list[_Worked]) -> list[Outcome]:
    """One ``save_results`` for every success; a store outage retries each of them later."""
    try:
        return outcomes.record_successes(
            store, [item.success for item in worked], processed_at=timezone.now()
        )
    except StoreUnavailable as exc:
        return _retry_all(worked, exc)


def _retry_all(worked: list[_Worked], error: Exception) -> list[Outcome]:
    described = outcomes.describe(error)
    return [
        outcomes.store_unavailable(item.message.envelope, delivery_attempt=1, error=described)
        for item in worked
    ]


def _finish(
    queue: BaseQueue, message: ReceivedMessage, outcome: Outcome, started: float, trace: TraceContext
) -> None:
    with bound(trace):
        apply_outcome(queue, message, outcome)
        log_outcome(message, outcome, time.monotonic() - started)
