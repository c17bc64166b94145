"""Quick deliveries worked on together: each keeps the outcome, record and log line it would have alone."""

import json
import logging
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone

from core.records import STATUS_PROCESSED, STATUS_RETRYING
from dataproc_site.logging import JsonFormatter
from processing import pipeline
from processing.batches import groupable, process_batch
from processing.queues.base import QueueUnavailable
from processing.queues.database import DatabaseQueue
from processing.tests.conftest import make_envelope
from processing.worker import ACK, RETRY
from tenants.stores.base import StoreUnavailable
from tenants.stores.database import DatabaseLogStore
from tenants.stores.memory import MemoryLogStore

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue():
    return DatabaseQueue()


@pytest.fixture
def store():
    return DatabaseLogStore()


def pulled(queue, envelopes):
    queue.publish_many(envelopes)
    messages = queue.pull(len(envelopes), 30)
    assert len(messages) == len(envelopes)
    return messages


def test_a_batch_stores_every_log_redacted_and_acks_them_all(queue, store, caplog):
    envelopes = [make_envelope(f"call 555-01{n:02d} now", request_id=f"req-{n}") for n in range(5)]
    messages = pulled(queue, envelopes)

    with caplog.at_level(logging.INFO, logger="processing.worker"):
        outcomes = process_batch(queue, messages, store=store)

    assert [outcome.action for outcome in outcomes] == [ACK] * 5
    for message in messages:
        record = store.get(message.envelope.tenant_id, message.envelope.log_id)
        assert record.status == STATUS_PROCESSED
        assert record.modified_data == "call [REDACTED] now"
        assert record.original_text == message.envelope.text
        assert record.message_id == message.message_id
        assert record.attempts == 1
        assert record.findings == {"phone": 1}
    assert queue.stats().depth == 0
    # One JSON line per delivery (the service's log format), each with its own log's ids.
    formatter = JsonFormatter()
    lines = [
        json.loads(formatter.format(record)) for record in caplog.records if record.msg == "log processed"
    ]
    assert [(line["log_id"], line["message_id"], line["request_id"]) for line in lines] == [
        (message.envelope.log_id, message.message_id, f"req-{n}") for n, message in enumerate(messages)
    ]
    assert {line["outcome"] for line in lines} == {ACK}


def test_one_failing_log_is_retried_alone_and_the_rest_are_stored(queue, store):
    messages = pulled(queue, [make_envelope(f"log {n}") for n in range(3)])
    real_handle = pipeline.handle

    def fail_the_second(envelope, *, attempt=1):
        if envelope.text == "log 1":
            raise RuntimeError("boom")
        return real_handle(envelope, attempt=attempt)

    with mock.patch("processing.pipeline.handle", side_effect=fail_the_second):
        outcomes = process_batch(queue, messages, store=store)

    assert [outcome.action for outcome in outcomes] == [ACK, RETRY, ACK]
    failed = store.get(messages[1].envelope.tenant_id, messages[1].envelope.log_id)
    assert (failed.status, failed.attempts) == (STATUS_RETRYING, 1)
    assert failed.last_error.startswith("RuntimeError")
    # Only the failed one is still queued, delayed by its backoff.
    assert queue.stats().depth == 1
    assert queue.pull(10, 30) == []


def test_a_log_already_stored_is_a_duplicate_and_the_others_are_still_stored(queue, store):
    processed_before = make_envelope("first copy")
    store.save_result(
        processed_before, modified_data="first copy", message_id="earlier", processed_at=timezone.now()
    )
    again = make_envelope("second copy", tenant_id=processed_before.tenant_id, log_id=processed_before.log_id)
    messages = pulled(queue, [make_envelope("new log"), again])

    outcomes = process_batch(queue, messages, store=store)

    assert [outcome.action for outcome in outcomes] == [ACK, ACK]
    assert store.get(again.tenant_id, again.log_id).message_id == "earlier"
    assert store.get(messages[0].envelope.tenant_id, messages[0].envelope.log_id).status == STATUS_PROCESSED
    assert queue.stats().depth == 0


def test_a_store_outage_retries_the_whole_batch_without_counting_an_attempt(queue, store):
    messages = pulled(queue, [make_envelope(f"log {n}") for n in range(3)])

    with mock.patch.object(store, "save_results", side_effect=StoreUnavailable("down")):
        outcomes = process_batch(queue, messages, store=store)

    assert [outcome.action for outcome in outcomes] == [RETRY] * 3
    for message in messages:
        assert store.get(message.envelope.tenant_id, message.envelope.log_id) is None
    assert queue.stats().depth == 3  # given back, after the backoff


def test_a_redelivery_in_a_batch_looks_at_the_store_first(queue, store):
    envelope = make_envelope()
    [first] = pulled(queue, [envelope])
    store.save_result(
        envelope, modified_data="done", message_id=first.message_id, processed_at=timezone.now()
    )
    queue.nack(first)
    [redelivered] = queue.pull(1, 30)
    assert redelivered.delivery_attempt == 2

    with mock.patch("processing.pipeline.handle") as work:
        [outcome] = process_batch(queue, [redelivered], store=store)

    assert outcome.action == ACK
    work.assert_not_called()
    assert queue.stats().depth == 0


@override_settings(PROCESSING_DELAY_PER_CHAR=0)
def test_first_deliveries_without_simulated_work_are_groupable(queue):
    [message] = pulled(queue, [make_envelope("x" * 500)])
    assert groupable(message)


@override_settings(PROCESSING_DELAY_PER_CHAR=0.05)
def test_messages_with_simulated_work_are_handled_alone(queue):
    [message] = pulled(queue, [make_envelope("a short log")])
    assert not groupable(message)


@override_settings(PROCESSING_DELAY_PER_CHAR=0)
def test_redeliveries_are_handled_alone(queue):
    [message] = pulled(queue, [make_envelope()])
    queue.nack(message)
    [again] = queue.pull(1, 30)
    assert not groupable(again)


def test_on_one_database_a_failed_ack_undoes_the_stored_results_and_retries_them(queue, store):
    messages = pulled(queue, [make_envelope(f"log {n}") for n in range(3)])

    with mock.patch.object(queue, "ack_many", side_effect=QueueUnavailable("locked")):
        outcomes = process_batch(queue, messages, store=store)

    # Stored and acked together or not at all: no record without its ack.
    assert [outcome.action for outcome in outcomes] == [RETRY] * 3
    for message in messages:
        assert store.get(message.envelope.tenant_id, message.envelope.log_id) is None
    assert queue.stats().depth == 3


def test_with_a_store_elsewhere_a_failed_ack_leaves_the_results_stored_for_the_redelivery(queue):
    store = MemoryLogStore()
    messages = pulled(queue, [make_envelope(f"log {n}") for n in range(2)])

    with (
        mock.patch.object(queue, "ack_many", side_effect=QueueUnavailable("locked")),
        pytest.raises(QueueUnavailable),
    ):
        process_batch(queue, messages, store=store)

    for message in messages:
        assert store.get(message.envelope.tenant_id, message.envelope.log_id).status == STATUS_PROCESSED
