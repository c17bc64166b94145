"""The streaming consumer's per-tenant share of the work slots, driven in process (no emulator).

Deliveries are handed to ``_callback`` on threads of the test, as the Pub/Sub
client's scheduler would; the handler holds the work gate like ``decide`` does
and waits until the test lets it finish.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from core.envelope import LogEnvelope
from processing.consumers.streaming import StreamingConsumer
from processing.tests.conftest import make_envelope
from processing.worker import current_work_gate


class FakeStreamed:
    """What the Pub/Sub client hands a callback: data, ids, and the lease verbs."""

    def __init__(self, envelope: LogEnvelope, delivery_attempt: int = 1) -> None:
        self.data = envelope.to_bytes()
        self.attributes = {"tenant_id": envelope.tenant_id}
        self.message_id = envelope.log_id
        self.delivery_attempt = delivery_attempt
        self.publish_time = datetime.now(UTC)


class FakeQueue:
    """The two calls the consumer makes of its queue here: decode a delivery, give one back."""

    def __init__(self) -> None:
        self.nacked: list[tuple[str, float]] = []

    def decode_delivered(self, data, attributes, message_id, delivery_attempt):
        return LogEnvelope.from_bytes(data)

    def nack(self, message, delay_seconds: float = 0.0) -> None:
        self.nacked.append((message.message_id, delay_seconds))


class Deliveries:
    """A consumer whose handler works (holding the gate) until ``finish``; deliveries on threads."""

    def __init__(self, concurrency: int) -> None:
        self.queue = FakeQueue()
        self.release = threading.Event()
        self.working: list[str] = []
        self.handled: list[str] = []
        self._lock = threading.Lock()
        self.consumer = StreamingConsumer(self.queue, self.handle, concurrency=concurrency, lease_seconds=30)
        self.threads: list[threading.Thread] = []

    def handle(self, message) -> str:
        with current_work_gate():
            with self._lock:
                self.working.append(message.message_id)
            assert self.release.wait(10)
        with self._lock:
            self.handled.append(message.message_id)
        return "ack"

    def deliver(self, tenant_id: str, log_id: str, *, delivery_attempt: int = 1) -> None:
        streamed = FakeStreamed(make_envelope(tenant_id=tenant_id, log_id=log_id), delivery_attempt)
        thread = threading.Thread(target=self.consumer._callback, args=(streamed,))
        thread.start()
        self.threads.append(thread)
        time.sleep(0.05)  # delivered one after the other, as the stream does

    def wait_working(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while len(self.working) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.working) >= count, self.working

    def finish(self) -> None:
        self.release.set()
        for thread in self.threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in self.threads)


@pytest.fixture
def share(settings):
    settings.WORKER_TENANT_MAX_SHARE = 0.5
    settings.WORKER_TENANT_SHED_DELAY_SECONDS = 5.0
    return settings


def test_a_tenant_holding_its_share_of_busy_slots_gets_its_next_delivery_given_back(share):
    deliveries = Deliveries(concurrency=2)
    deliveries.deliver("noisy", "a1")
    deliveries.deliver("noisy", "a2")
    deliveries.wait_working(2)  # alone, the noisy tenant fills every slot

    deliveries.deliver("noisy", "a3")
    deliveries.deliver("quiet", "b1")
    deliveries.consumer._give_back_held()  # what the run loop does at each poll
    deliveries.finish()

    assert deliveries.queue.nacked == [("a3", 5.0)]
    assert sorted(deliveries.handled) == ["a1", "a2", "b1"]
    assert deliveries.consumer.held_back_count == 1


def test_nothing_is_held_back_while_a_work_slot_is_free(share):
    deliveries = Deliveries(concurrency=4)
    for index in range(4):
        deliveries.deliver("noisy", f"a{index}")
    deliveries.wait_working(4)
    deliveries.consumer._give_back_held()
    deliveries.finish()

    assert deliveries.queue.nacked == []
    assert len(deliveries.handled) == 4


def test_a_delivery_near_the_dead_letter_limit_is_never_held_back(share):
    share.PUBSUB_MAX_DELIVERY_ATTEMPTS = 10
    deliveries = Deliveries(concurrency=2)
    deliveries.deliver("noisy", "a1")
    deliveries.deliver("noisy", "a2")
    deliveries.wait_working(2)

    deliveries.deliver("noisy", "often", delivery_attempt=5)
    deliveries.consumer._give_back_held()
    deliveries.finish()

    assert deliveries.queue.nacked == []
    assert "often" in deliveries.handled


def test_a_share_of_one_turns_the_cap_off(share):
    share.WORKER_TENANT_MAX_SHARE = 1.0
    deliveries = Deliveries(concurrency=2)
    for index in range(3):
        deliveries.deliver("noisy", f"a{index}")
    deliveries.consumer._give_back_held()
    deliveries.finish()

    assert deliveries.queue.nacked == []
    assert len(deliveries.handled) == 3


def test_storing_a_result_does_not_count_against_the_share(share):
    deliveries = Deliveries(concurrency=2)
    deliveries.deliver("noisy", "a1")
    deliveries.deliver("noisy", "a2")
    deliveries.wait_working(2)
    deliveries.release.set()  # both leave the work gate (and would store their results)
    for thread in deliveries.threads:
        thread.join(10)

    deliveries.deliver("noisy", "a3")
    deliveries.deliver("noisy", "a4")
    deliveries.consumer._give_back_held()
    deliveries.finish()

    assert deliveries.queue.nacked == []
    assert deliveries.consumer._occupied_total == 0


def test_deliveries_given_back_keep_a_draining_worker_from_calling_the_queue_idle(share):
    """They come back after the delay: --drain must not stop meanwhile (they were lost once)."""
    deliveries = Deliveries(concurrency=2)
    deliveries.deliver("noisy", "a1")
    deliveries.deliver("noisy", "a2")
    deliveries.wait_working(2)
    deliveries.deliver("noisy", "a3")
    deliveries.consumer._give_back_held()
    deliveries.finish()

    assert deliveries.queue.nacked == [("a3", 5.0)]
    # Nothing in flight any more, yet not idle until the given-back delivery is due again.
    assert deliveries.consumer.idle_for() <= 0
