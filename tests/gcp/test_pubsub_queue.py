"""What the Pub/Sub queue does beyond the shared contract: attributes, streaming pull, dead letters."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.conf import settings

from processing.consumers import consume
from processing.queues import QueueUnavailable
from processing.queues.pubsub import PubSubQueue
from processing.worker import current_work_gate
from tests.gcp.helpers import new_envelope, pull_raw, wait_for

pytestmark = pytest.mark.emulators


def consume_in_thread(queue, handler, *, concurrency=4, lease_seconds=10.0, idle_exit_seconds=None):
    stop = threading.Event()
    errors: list[BaseException] = []

    def run():
        try:
            consume(
                queue,
                handler,
                concurrency=concurrency,
                lease_seconds=lease_seconds,
                stop_event=stop,
                idle_exit_seconds=idle_exit_seconds,
            )
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, stop, errors


def test_a_published_message_carries_its_routing_attributes(pubsub_queue):
    envelope = new_envelope()

    message_id = pubsub_queue.publish(envelope)

    [message] = wait_for(lambda: pull_raw(settings.PUBSUB_SUBSCRIPTION, wait=1), timeout=10)
    assert message.message_id == message_id
    assert dict(message.attributes) == {
        "tenant_id": envelope.tenant_id,
        "log_id": envelope.log_id,
        "source": envelope.source,
        "received_at": envelope.received_at,
    }
    assert json.loads(message.data) == envelope.to_dict()


def test_publishing_to_a_missing_topic_is_queue_unavailable(pubsub_emulator, pubsub_names, settings):
    settings.PUBSUB_PUBLISH_TIMEOUT = 2.0
    queue = PubSubQueue()  # the topic was never created
    try:
        with pytest.raises(QueueUnavailable):
            queue.publish(new_envelope())
        with pytest.raises(QueueUnavailable):
            queue.check()
    finally:
        queue.close()


def test_streaming_consume_hands_every_message_to_the_handler_and_exits_when_idle(pubsub_queue):
    envelopes = [new_envelope() for _ in range(20)]
    pubsub_queue.publish_many(envelopes)
    handled, lock = [], threading.Lock()

    def handler(message):
        with lock:
            handled.append(message)
        pubsub_queue.ack(message)

    thread, _stop, errors = consume_in_thread(pubsub_queue, handler, idle_exit_seconds=2.0)
    thread.join(timeout=30)

    assert not thread.is_alive(), "consume did not exit after the queue went idle"
    assert errors == []
    assert sorted(m.envelope.log_id for m in handled) == sorted(e.log_id for e in envelopes)
    assert all(message.delivery_attempt == 1 for message in handled)
    assert pubsub_queue.pull(10, 10) == []


def test_streaming_consume_works_on_at_most_concurrency_logs_while_others_store_results(pubsub_queue):
    pubsub_queue.publish_many([new_envelope() for _ in range(24)])
    lock = threading.Lock()
    counts = {"working": 0, "peak_working": 0, "handlers": 0, "peak_handlers": 0}
    done = []

    def handler(message):
        with lock:
            counts["handlers"] += 1
            counts["peak_handlers"] = max(counts["peak_handlers"], counts["handlers"])
        with current_work_gate():  # as decide() holds it around the work
            with lock:
                counts["working"] += 1
                counts["peak_working"] = max(counts["peak_working"], counts["working"])
            time.sleep(0.2)
            with lock:
                counts["working"] -= 1
        time.sleep(0.4)  # storing the result: outside the work slots
        with lock:
            counts["handlers"] -= 1
            done.append(message.message_id)
        pubsub_queue.ack(message)

    thread, _stop, errors = consume_in_thread(pubsub_queue, handler, concurrency=3, idle_exit_seconds=2.0)
    thread.join(timeout=60)

    assert errors == []
    assert len(done) == 24
    assert counts["peak_working"] == 3
    assert 3 < counts["peak_handlers"] <= 6  # results stored meanwhile, in bounded number


def test_a_streamed_nack_with_a_delay_holds_the_message_back(pubsub_queue):
    pubsub_queue.publish(new_envelope())
    deliveries, lock = [], threading.Lock()

    def handler(message):
        with lock:
            deliveries.append(time.monotonic())
            first = len(deliveries) == 1
        if first:
            pubsub_queue.nack(message, 3)
        else:
            pubsub_queue.ack(message)

    thread, stop, errors = consume_in_thread(pubsub_queue, handler)
    try:
        wait_for(lambda: len(deliveries) >= 2, timeout=20, message="the redelivery")
    finally:
        stop.set()
        thread.join(timeout=30)

    assert errors == []
    assert deliveries[1] - deliveries[0] >= 2.5


def test_stopping_consume_lets_running_handlers_finish_and_gives_the_rest_back(pubsub_queue):
    pubsub_queue.publish_many([new_envelope() for _ in range(6)])
    started, finished, lock = [], [], threading.Lock()

    def handler(message):
        with lock:
            started.append(message.message_id)
        time.sleep(1.5)
        pubsub_queue.ack(message)
        with lock:
            finished.append(message.message_id)

    thread, stop, errors = consume_in_thread(pubsub_queue, handler, concurrency=2)
    wait_for(lambda: len(started) >= 2, timeout=15, message="two handlers to start")
    stop.set()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert errors == []
    assert sorted(finished) == sorted(started)  # nothing cut short
    # What was not started is handed out again at once, not after a lease.
    rest = wait_for(
        lambda: pubsub_queue.pull(10, 60) or None, timeout=10, message="the unstarted messages to come back"
    )
    remaining = {message.message_id for message in rest}
    assert remaining.isdisjoint(finished)


def test_dead_letter_moves_the_envelope_to_the_dead_letter_topic(pubsub_queue):
    envelope = new_envelope()
    pubsub_queue.publish(envelope)
    [message] = wait_for(lambda: pubsub_queue.pull(1, 30), timeout=10)

    pubsub_queue.dead_letter(message)

    [parked] = wait_for(lambda: pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=1), timeout=10)
    assert json.loads(parked.data) == envelope.to_dict()
    assert parked.attributes["original_message_id"] == message.message_id
    assert parked.attributes["tenant_id"] == envelope.tenant_id
    assert pubsub_queue.pull(10, 30) == []


def test_an_undecodable_message_is_parked_on_the_dead_letter_topic(pubsub_queue):
    pubsub_queue.publisher.publish(pubsub_queue.topic_path, b"\xff not an envelope").result(timeout=10)

    def parked_messages():
        assert pubsub_queue.pull(10, 30) == []  # never handed to a consumer
        return pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=0.5)

    [parked] = wait_for(parked_messages, timeout=10)
    assert parked.data == b"\xff not an envelope"
    assert "not a log envelope" in parked.attributes["error"]


def test_the_queue_reports_an_unknown_depth(pubsub_queue):
    stats = pubsub_queue.stats()

    assert (stats.depth, stats.oldest_age_seconds, stats.dead_lettered) == (None, None, None)


def test_another_tenants_log_is_worked_on_before_most_of_a_streamed_backlog(pubsub_queue, settings):
    """Noisy neighbours on one subscription: the held-back deliveries let the stream reach the other log."""
    settings.WORKER_TENANT_MAX_SHARE = 0.5
    # Long enough that what was held back does not come round again during the test.
    settings.WORKER_TENANT_SHED_DELAY_SECONDS = 120.0
    backlog = 300
    pubsub_queue.publish_many([new_envelope(tenant_id="noisy") for _ in range(backlog)])
    pubsub_queue.publish(new_envelope(tenant_id="quiet"))
    worked, lock = [], threading.Lock()

    def handler(message):
        with current_work_gate():
            time.sleep(1.0)
        with lock:
            worked.append(message.envelope.tenant_id)
        pubsub_queue.ack(message)
        return "ack"

    thread, stop, errors = consume_in_thread(pubsub_queue, handler, concurrency=2)
    try:
        wait_for(lambda: "quiet" in worked, timeout=120, interval=0.5, message="the quiet tenant's log")
    finally:
        stop.set()
        thread.join(timeout=60)

    assert errors == []
    # In publish order it would come after all 300 (2 a second: two and a half minutes).
    assert worked.index("quiet") < backlog // 3, worked.index("quiet")
