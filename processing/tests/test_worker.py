"""decide / apply_outcome / process_message: the rules for one delivery, on a fake and the real store."""

import json
import logging
import threading
from unittest import mock

import pytest
from django.test import override_settings

from core.records import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING
from processing import pipeline, worker
from processing.outcomes import backoff_seconds
from processing.tests.conftest import make_envelope
from processing.worker import ACK, DEAD_LETTER, RETRY, Outcome, apply_outcome, decide
from tenants.stores.base import StoreUnavailable


@pytest.fixture(params=["fake", "database"])
def store(request):
    """Every rule holds on the in-test fake and on the database store alike."""
    if request.param == "fake":
        return request.getfixturevalue("memory_store")
    request.getfixturevalue("db")
    from tenants.stores.database import DatabaseLogStore

    return DatabaseLogStore()


def deliver(envelope, store, attempt=1, message_id="m-1"):
    return decide(envelope, message_id=message_id, delivery_attempt=attempt, store=store)


# -- success and idempotence ----------------------------------------------------


def test_a_successful_delivery_stores_the_redacted_text_and_acks(store):
    envelope = make_envelope("User 555-0199 accessed the system")

    outcome = deliver(envelope, store, message_id="m-42")

    assert outcome == Outcome(ACK, status=STATUS_PROCESSED, attempts=1)
    record = store.get(envelope.tenant_id, envelope.log_id)
    assert record.status == STATUS_PROCESSED
    assert record.modified_data == "User [REDACTED] accessed the system"
    assert record.original_text == "User 555-0199 accessed the system"
    assert record.message_id == "m-42"
    assert record.processed_at is not None


def test_a_redelivery_of_a_processed_log_acks_without_redoing_the_work(store):
    envelope = make_envelope()
    deliver(envelope, store)
    before = store.get(envelope.tenant_id, envelope.log_id)

    with mock.patch("processing.worker.pipeline.handle") as handle:
        outcome = deliver(envelope, store, attempt=2, message_id="m-2")

    handle.assert_not_called()
    assert outcome.action == ACK
    after = store.get(envelope.tenant_id, envelope.log_id)
    assert (after.modified_data, after.processed_at, after.message_id, after.attempts) == (
        before.modified_data,
        before.processed_at,
        before.message_id,
        before.attempts,
    )


def test_a_first_delivery_skips_the_read_and_a_duplicate_log_is_caught_by_the_save(store):
    envelope = make_envelope()
    deliver(envelope, store, message_id="m-1")
    before = store.get(envelope.tenant_id, envelope.log_id)

    # The same log id sent again: a new message, delivered for the first time.
    with mock.patch.object(store, "get", side_effect=AssertionError("read on a first delivery")):
        outcome = deliver(envelope, store, attempt=1, message_id="m-2")

    assert outcome == Outcome(ACK, status=STATUS_PROCESSED, attempts=1)
    after = store.get(envelope.tenant_id, envelope.log_id)
    assert (after.message_id, after.processed_at, after.attempts) == (
        before.message_id,
        before.processed_at,
        before.attempts,
    )


def test_a_duplicate_caught_by_the_save_counts_as_a_duplicate_not_a_second_processing(store):
    envelope = make_envelope()
    deliver(envelope, store)

    with mock.patch("processing.worker.metrics.record_outcome") as record_outcome:
        deliver(envelope, store, attempt=1, message_id="m-2")

    record_outcome.assert_called_once_with(envelope.tenant_id, worker.metrics.OUTCOME_DUPLICATE)


def test_a_consumers_work_gate_is_held_for_the_work_and_free_while_the_result_is_stored(memory_store):
    slots = threading.BoundedSemaphore(1)
    seen = {}
    real_save = memory_store.save_result

    def work(envelope, attempt):
        seen["free during the work"] = slots.acquire(blocking=False)
        return pipeline.WorkResult(modified_data="done")

    def save(*args, **kwargs):
        seen["free while storing"] = slots.acquire(blocking=False)
        slots.release()
        return real_save(*args, **kwargs)

    with (
        mock.patch("processing.worker.pipeline.handle", side_effect=work),
        mock.patch.object(memory_store, "save_result", side_effect=save),
        worker.work_gated_by(slots),
    ):
        outcome = decide(make_envelope(), message_id="m-1", delivery_attempt=1, store=memory_store)

    assert outcome.action == ACK
    assert seen == {"free during the work": False, "free while storing": True}
    assert slots.acquire(blocking=False)  # given back afterwards


# -- failures, backoff, dead letters ----------------------------------------------


def failing(exc=None):
    return mock.patch("processing.worker.pipeline.handle", side_effect=exc or RuntimeError("boom"))


def test_a_failure_is_recorded_and_retried_with_backoff(store):
    envelope = make_envelope()

    with failing():
        outcome = deliver(envelope, store)

    assert outcome.action == RETRY
    assert outcome.delay_seconds == backoff_seconds(1)
    assert (outcome.status, outcome.attempts, outcome.error) == (STATUS_RETRYING, 1, "RuntimeError: boom")
    record = store.get(envelope.tenant_id, envelope.log_id)
    assert (record.status, record.attempts, record.last_error) == (STATUS_RETRYING, 1, "RuntimeError: boom")


@override_settings(WORKER_BACKOFF_BASE_SECONDS=2.0, WORKER_BACKOFF_MAX_SECONDS=300.0)
def test_backoff_doubles_per_attempt_up_to_the_cap():
    assert [backoff_seconds(attempts) for attempts in (1, 2, 3, 4, 8, 9, 1000)] == [
        2.0,
        4.0,
        8.0,
        16.0,
        256.0,
        300.0,
        300.0,
    ]


@override_settings(WORKER_MAX_ATTEMPTS=3)
def test_the_last_allowed_failure_dead_letters_the_log(store):
    envelope = make_envelope()

    with failing():
        outcomes = [deliver(envelope, store, attempt=attempt) for attempt in (1, 2, 3)]

    assert [outcome.action for outcome in outcomes] == [RETRY, RETRY, DEAD_LETTER]
    assert outcomes[1].delay_seconds == backoff_seconds(2)
    assert (outcomes[2].status, outcomes[2].attempts) == (STATUS_DEAD_LETTERED, 3)
    record = store.get(envelope.tenant_id, envelope.log_id)
    assert (record.status, record.attempts) == (STATUS_DEAD_LETTERED, 3)


@override_settings(WORKER_MAX_ATTEMPTS=2)
def test_attempts_come_from_the_store_not_the_queue_delivery_count(store):
    envelope = make_envelope()

    # Pub/Sub without a dead-letter policy reports delivery_attempt 0 every time.
    with failing():
        outcomes = [deliver(envelope, store, attempt=0) for _ in range(2)]

    assert [outcome.action for outcome in outcomes] == [RETRY, DEAD_LETTER]


@override_settings(PROCESSING_DEMO_FAILURES=True, WORKER_MAX_ATTEMPTS=5)
def test_a_demo_failure_marker_fails_n_times_then_processes(store):
    envelope = make_envelope("flaky [demo:fail=2] 555-0199")

    outcomes = [deliver(envelope, store, attempt=attempt) for attempt in (1, 2, 3)]

    assert [outcome.action for outcome in outcomes] == [RETRY, RETRY, ACK]
    record = store.get(envelope.tenant_id, envelope.log_id)
    assert (record.status, record.attempts) == (STATUS_PROCESSED, 3)
    assert record.last_error.startswith("DemoFailure")


@override_settings(PROCESSING_DEMO_FAILURES=True, WORKER_MAX_ATTEMPTS=3)
def test_a_demo_always_marker_ends_dead_lettered(store):
    envelope = make_envelope("[demo:fail=always]")

    outcomes = [deliver(envelope, store, attempt=attempt) for attempt in (1, 2, 3)]

    assert outcomes[-1].action == DEAD_LETTER


# -- store outages ------------------------------------------------------------------


def test_an_unreachable_store_retries_without_counting_an_attempt(memory_store):
    envelope = make_envelope()
    with failing():
        deliver(envelope, memory_store)
    memory_store.unavailable = True

    outcome = deliver(envelope, memory_store, attempt=3)

    assert outcome.action == RETRY
    assert outcome.delay_seconds == backoff_seconds(3)
    assert outcome.error.startswith("StoreUnavailable")
    memory_store.unavailable = False
    assert memory_store.get(envelope.tenant_id, envelope.log_id).attempts == 1


@override_settings(WORKER_MAX_ATTEMPTS=2)
def test_a_long_store_outage_never_dead_letters_a_log(memory_store):
    envelope = make_envelope()
    memory_store.unavailable = True

    outcomes = [deliver(envelope, memory_store, attempt=attempt) for attempt in range(1, 20)]

    assert {outcome.action for outcome in outcomes} == {RETRY}
    memory_store.unavailable = False
    assert deliver(envelope, memory_store, attempt=20).action == ACK


def test_a_store_failing_while_saving_the_result_retries(memory_store):
    envelope = make_envelope()

    with mock.patch.object(memory_store, "save_result", side_effect=StoreUnavailable("write failed")):
        outcome = deliver(envelope, memory_store)

    assert outcome.action == RETRY
    assert memory_store.get(envelope.tenant_id, envelope.log_id) is None


def test_the_database_store_being_unreachable_is_a_retry(db):
    from django.db import OperationalError, connection

    from tenants.stores.database import DatabaseLogStore

    envelope = make_envelope()
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        outcome = deliver(envelope, DatabaseLogStore())

    assert outcome.action == RETRY
    assert DatabaseLogStore().get(envelope.tenant_id, envelope.log_id) is None


def test_a_failure_after_another_delivery_processed_the_log_acks(memory_store):
    envelope = make_envelope()

    def processed_meanwhile(*args, **kwargs):
        memory_store.save_result(envelope, modified_data="done", message_id="other", processed_at=mock.ANY)
        raise RuntimeError("late failure")

    with override_settings(WORKER_MAX_ATTEMPTS=1), failing(processed_meanwhile):
        outcome = deliver(envelope, memory_store)

    assert outcome.action == ACK
    assert memory_store.get(envelope.tenant_id, envelope.log_id).status == STATUS_PROCESSED


# -- apply_outcome and process_message --------------------------------------------


def test_apply_outcome_acks_nacks_with_delay_or_dead_letters(memory_queue):
    memory_queue.publish_many([make_envelope() for _ in range(3)])
    acked, retried, dead = memory_queue.pull(3, 60)

    apply_outcome(memory_queue, acked, Outcome(ACK))
    apply_outcome(memory_queue, retried, Outcome(RETRY, delay_seconds=60))
    apply_outcome(memory_queue, dead, Outcome(DEAD_LETTER))

    stats = memory_queue.stats()
    assert (stats.depth, stats.dead_lettered) == (1, 1)
    assert memory_queue.pull(10, 60) == []


def test_apply_outcome_rejects_an_unknown_action(memory_queue):
    memory_queue.publish(make_envelope())
    [message] = memory_queue.pull(1, 60)

    with pytest.raises(ValueError, match="unknown outcome action"):
        apply_outcome(memory_queue, message, Outcome("maybe"))


def test_process_message_logs_one_line_with_ids_and_never_the_text(memory_queue, memory_store, caplog):
    envelope = make_envelope("secret text 555-0199", tenant_id="acme", log_id="123")
    message_id = memory_queue.publish(envelope)
    [message] = memory_queue.pull(1, 60)

    with caplog.at_level(logging.INFO, logger="processing.worker"):
        worker.process_message(memory_queue, message, store=memory_store)

    [line] = [record for record in caplog.records if record.name == "processing.worker"]
    assert line.message == "log processed"
    assert (line.tenant_id, line.log_id, line.message_id, line.outcome, line.attempts) == (
        "acme",
        "123",
        message_id,
        ACK,
        1,
    )
    assert line.duration_seconds >= 0
    assert "secret" not in json.dumps(vars(line), default=str)
    assert memory_queue.stats().depth == 0


def test_process_message_logs_the_error_type_of_a_retry(memory_queue, memory_store, caplog):
    memory_queue.publish(make_envelope("secret text"))
    [message] = memory_queue.pull(1, 60)

    with caplog.at_level(logging.INFO, logger="processing.worker"), failing(ValueError("secret text")):
        worker.process_message(memory_queue, message, store=memory_store)

    [line] = [record for record in caplog.records if record.name == "processing.worker"]
    assert (line.message, line.outcome, line.error_type) == ("log retry scheduled", RETRY, "ValueError")
    assert "secret" not in json.dumps(vars(line), default=str)
