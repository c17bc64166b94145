"""PullConsumer on the in-memory queue: concurrency, lease renewal, draining and shutdown."""

import threading
import time

import pytest

from processing.consumers import DrainStuck, Grouping, consume
from processing.consumers.pull import PullConsumer
from processing.queues.base import QueueUnavailable
from processing.queues.memory import MemoryQueue
from processing.tests.conftest import make_envelope

# Generous upper bound for anything that should happen "soon"; tests never wait it out.
SOON = 10.0


def run_in_thread(consumer, stop_event, **kwargs) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, args=(stop_event,), kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def wait_for(condition, timeout=SOON) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Recorder:
    """A handler that acks and remembers what it saw and how many ran at once."""

    def __init__(self, queue, *, hold: threading.Event | None = None, work_seconds: float = 0.0):
        self.queue = queue
        self.hold = hold
        self.work_seconds = work_seconds
        self.seen: list[str] = []
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def __call__(self, message):
        with self._lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            if self.hold is not None:
                self.hold.wait(SOON)
            if self.work_seconds:
                time.sleep(self.work_seconds)
            self.queue.ack(message)
            with self._lock:
                self.seen.append(message.message_id)
        finally:
            with self._lock:
                self.running -= 1


def test_it_handles_every_message_once_and_exits_when_drained(memory_queue):
    message_ids = memory_queue.publish_many([make_envelope() for _ in range(25)])
    handler = Recorder(memory_queue)

    PullConsumer(memory_queue, handler, concurrency=4, lease_seconds=5, poll_interval=0.05).run(
        threading.Event(), idle_exit_seconds=0.2
    )

    assert sorted(handler.seen) == sorted(message_ids)
    assert memory_queue.stats().depth == 0


def test_it_runs_up_to_concurrency_handlers_at_once_and_never_more(memory_queue):
    memory_queue.publish_many([make_envelope() for _ in range(12)])
    release = threading.Event()
    handler = Recorder(memory_queue, hold=release)
    stop = threading.Event()
    consumer = PullConsumer(memory_queue, handler, concurrency=5, lease_seconds=0.5, poll_interval=0.01)
    polls_while_busy = LoopCounter(consumer, lambda: handler.running == 5)
    thread = run_in_thread(consumer, stop)

    assert wait_for(lambda: handler.running == 5)
    # Several pull rounds while every handler is busy: none of them takes more.
    assert wait_for(lambda: polls_while_busy.count >= 3)
    assert handler.running == 5
    assert memory_queue.stats().depth == 12
    assert len(memory_queue.pull(12, 5)) == 7  # the other 7 stay on the queue, not in a local buffer
    release.set()
    assert wait_for(lambda: len(handler.seen) == 12)
    stop.set()
    thread.join(SOON)
    assert handler.max_running == 5


class LoopCounter:
    """Counts the consumer's pull rounds (lease renewals included) while ``condition`` holds."""

    def __init__(self, consumer, condition) -> None:
        self.count = 0
        renew = consumer._renew_leases

        def counting_renew():
            if condition():
                self.count += 1
            renew()

        consumer._renew_leases = counting_renew


class HeldCounter:
    """Wraps a queue's pull to record the most messages the consumer held at once."""

    def __init__(self, queue, consumer_ref: list) -> None:
        self.real_pull = queue.pull
        self.consumer_ref = consumer_ref
        self.most_held = 0

    def __call__(self, max_messages, lease_seconds):
        messages = self.real_pull(max_messages, lease_seconds)
        consumer = self.consumer_ref[0]
        self.most_held = max(self.most_held, consumer.in_flight_count() + len(messages))
        return messages


@pytest.mark.parametrize(("work_seconds", "most_allowed"), [(0.0, 4 + 4), (0.08, 4)])
def test_it_holds_a_batch_ahead_only_while_messages_are_quick(memory_queue, work_seconds, most_allowed):
    message_ids = memory_queue.publish_many([make_envelope() for _ in range(60 if not work_seconds else 16)])
    handler = Recorder(memory_queue, work_seconds=work_seconds)
    consumer = PullConsumer(memory_queue, handler, concurrency=4, lease_seconds=5, poll_interval=0.02)
    held = HeldCounter(memory_queue, [consumer])
    memory_queue.pull = held

    consumer.run(threading.Event(), idle_exit_seconds=0.2)

    assert sorted(handler.seen) == sorted(message_ids)
    assert handler.max_running <= 4
    assert held.most_held <= most_allowed
    if not work_seconds:
        assert held.most_held > 4  # quick messages: a batch waited ready for the next free handler


def test_leases_are_renewed_so_a_second_worker_never_gets_a_message_in_progress(memory_queue):
    memory_queue.publish(make_envelope())
    deliveries = []
    lock = threading.Lock()

    def slow_handler(message):
        with lock:
            deliveries.append(message.message_id)
        time.sleep(1.5)  # five times the lease
        memory_queue.ack(message)

    stop = threading.Event()
    consumers = [
        PullConsumer(memory_queue, slow_handler, concurrency=2, lease_seconds=0.3, poll_interval=0.02)
        for _ in range(2)
    ]
    threads = [run_in_thread(consumer, stop) for consumer in consumers]

    assert wait_for(lambda: memory_queue.stats().depth == 0)
    stop.set()
    for thread in threads:
        thread.join(SOON)
    assert len(deliveries) == 1


def test_stop_lets_in_flight_messages_finish_and_leaves_the_rest_on_the_queue(memory_queue):
    memory_queue.publish_many([make_envelope() for _ in range(5)])
    release = threading.Event()
    handler = Recorder(memory_queue, hold=release)
    stop = threading.Event()
    consumer = PullConsumer(
        memory_queue, handler, concurrency=2, lease_seconds=30, shutdown_grace_seconds=SOON
    )
    thread = run_in_thread(consumer, stop)
    assert wait_for(lambda: handler.running == 2)
    shutting_down = threading.Event()
    give_back = consumer._give_back
    consumer._give_back = lambda messages: (give_back(messages), shutting_down.set())

    stop.set()
    assert shutting_down.wait(SOON)
    # What never started is back on the queue; the two in flight are still held.
    assert len(memory_queue.pull(10, 30)) == 3
    assert thread.is_alive()
    release.set()
    thread.join(SOON)

    assert not thread.is_alive()
    assert len(handler.seen) == 2


def test_messages_still_running_after_the_grace_period_are_given_back(memory_queue):
    message_id = memory_queue.publish(make_envelope())
    release = threading.Event()
    handler = Recorder(memory_queue, hold=release)
    stop = threading.Event()
    thread = run_in_thread(
        PullConsumer(memory_queue, handler, concurrency=1, lease_seconds=30, shutdown_grace_seconds=0.2), stop
    )
    assert wait_for(lambda: handler.running == 1)

    stop.set()
    thread.join(SOON)

    assert not thread.is_alive()
    [again] = memory_queue.pull(1, 30)  # nacked, not left to its 30 s lease
    assert again.message_id == message_id
    release.set()


def test_messages_pulled_but_not_started_are_given_back_on_stop():
    queue = MemoryQueue()
    queue.publish_many([make_envelope() for _ in range(3)])
    consumer = PullConsumer(queue, lambda message: None, concurrency=3, lease_seconds=30)
    # Dispatch without handler threads: the messages are pulled but never start.
    consumer._dispatch(queue.pull(3, 30))

    consumer._shut_down()

    assert len(queue.pull(10, 30)) == 3
    assert consumer.in_flight_count() == 0


def test_a_handler_that_raises_gives_its_message_back_and_the_loop_goes_on(memory_queue):
    memory_queue.publish_many([make_envelope("bad"), make_envelope("good")])
    handled = []

    def handler(message):
        if message.envelope.text == "bad":
            raise RuntimeError("bug in a handler")
        memory_queue.ack(message)
        handled.append(message.envelope.text)

    stop = threading.Event()
    thread = run_in_thread(
        PullConsumer(memory_queue, handler, concurrency=2, lease_seconds=5, poll_interval=0.05), stop
    )

    assert wait_for(lambda: handled == ["good"] and memory_queue.stats().depth == 1)
    stop.set()
    thread.join(SOON)
    # The bad one waits out a delay instead of spinning through the handler.
    assert memory_queue.pull(1, 5) == []


def test_a_failing_pull_is_retried_with_backoff(memory_queue):
    message_id = memory_queue.publish(make_envelope())
    real_pull = memory_queue.pull
    calls = []

    def flaky_pull(max_messages, lease_seconds):
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise QueueUnavailable("broker away")
        return real_pull(max_messages, lease_seconds)

    memory_queue.pull = flaky_pull
    handler = Recorder(memory_queue)

    PullConsumer(memory_queue, handler, concurrency=1, lease_seconds=5, poll_interval=0.05).run(
        threading.Event(), idle_exit_seconds=0.2
    )

    assert handler.seen == [message_id]
    assert calls[2] - calls[1] > calls[1] - calls[0]  # the wait grows


def test_drain_waits_for_a_message_that_is_only_delayed(memory_queue):
    memory_queue.publish(make_envelope())
    seen = []

    def retry_once(message):
        seen.append(message.delivery_attempt)
        if message.delivery_attempt == 1:
            memory_queue.nack(message, 0.6)
        else:
            memory_queue.ack(message)

    PullConsumer(memory_queue, retry_once, concurrency=1, lease_seconds=5, poll_interval=0.05).run(
        threading.Event(), idle_exit_seconds=0.1
    )

    assert seen == [1, 2]
    assert memory_queue.stats().depth == 0


@pytest.mark.parametrize(("concurrency", "lease"), [(0, 5), (1, 0)])
def test_it_refuses_a_nonsensical_configuration(memory_queue, concurrency, lease):
    with pytest.raises(ValueError):
        PullConsumer(memory_queue, lambda message: None, concurrency=concurrency, lease_seconds=lease)


def test_consume_feeds_a_pull_backend_through_the_pull_consumer(memory_queue):
    memory_queue.publish_many([make_envelope() for _ in range(3)])
    handler = Recorder(memory_queue)

    consume(
        memory_queue,
        handler,
        concurrency=2,
        lease_seconds=5,
        stop_event=threading.Event(),
        idle_exit_seconds=0.3,
    )

    assert len(handler.seen) == 3


# -- work deadlines ---------------------------------------------------------------


def test_a_message_past_its_deadline_is_given_up_and_the_others_keep_flowing(memory_queue):
    stuck_id = memory_queue.publish(make_envelope("hangs"))
    memory_queue.publish_many([make_envelope("quick") for _ in range(4)])
    hang = threading.Event()
    expired = []
    handled = []

    def handler(message):
        if message.envelope.text == "hangs":
            hang.wait(SOON)  # a hung handler
            return "ack"
        memory_queue.ack(message)
        handled.append(message.message_id)
        return "ack"

    def expire(message, ran_seconds):
        expired.append((message.message_id, ran_seconds))
        memory_queue.nack(message, 60)

    stop = threading.Event()
    consumer = PullConsumer(
        memory_queue,
        handler,
        concurrency=1,
        lease_seconds=0.3,
        poll_interval=0.01,
        expire=expire,
        deadline_seconds=0.5,
    )
    thread = run_in_thread(consumer, stop)

    assert wait_for(lambda: len(handled) == 4)  # the one handler thread was replaced
    stop.set()
    thread.join(SOON)
    hang.set()
    assert [message_id for message_id, _ in expired] == [stuck_id]
    assert expired[0][1] >= 0.5
    assert (
        memory_queue.pull(1, 5) == []
    )  # given back with the expire handler's delay, not redelivered at once


def test_a_message_past_its_deadline_loses_its_lease_renewal(memory_queue):
    memory_queue.publish(make_envelope("hangs"))
    hang = threading.Event()
    started = threading.Event()

    def handler(message):
        started.set()
        hang.wait(SOON)

    stop = threading.Event()
    consumer = PullConsumer(
        memory_queue, handler, concurrency=1, lease_seconds=0.3, poll_interval=0.01, deadline_seconds=0.4
    )
    thread = run_in_thread(consumer, stop)
    assert started.wait(SOON)

    # Without an expire handler the message is nacked after the handler-error delay;
    # either way nobody renews its lease any more.
    assert wait_for(lambda: consumer.in_flight_count() == 0)
    stop.set()
    thread.join(SOON)
    hang.set()
    assert memory_queue.stats().depth == 1


# -- drain ------------------------------------------------------------------------


def test_drain_gives_up_once_only_messages_that_keep_failing_remain(memory_queue, settings):
    settings.WORKER_MAX_ATTEMPTS = 2
    memory_queue.publish(make_envelope("always nacked"))
    good = memory_queue.publish(make_envelope("fine"))
    acked = []

    def handler(message):
        if message.envelope.text == "fine":
            memory_queue.ack(message)
            acked.append(message.message_id)
            return "ack"
        memory_queue.nack(message, 0.0)  # e.g. a dead letter turned into a nack
        return "retry"

    consumer = PullConsumer(memory_queue, handler, concurrency=2, lease_seconds=5, poll_interval=0.01)
    with pytest.raises(DrainStuck, match="kept failing"):
        consumer.run(threading.Event(), idle_exit_seconds=0.2)

    assert acked == [good]
    assert memory_queue.stats().depth == 1


def test_drain_waits_out_ordinary_retries_that_end_in_success(memory_queue):
    memory_queue.publish(make_envelope())
    seen = []

    def twice_then_ok(message):
        seen.append(message.delivery_attempt)
        if message.delivery_attempt <= 2:
            memory_queue.nack(message, 0.3)
            return "retry"
        memory_queue.ack(message)
        return "ack"

    PullConsumer(memory_queue, twice_then_ok, concurrency=1, lease_seconds=5, poll_interval=0.01).run(
        threading.Event(), idle_exit_seconds=0.1
    )

    assert seen == [1, 2, 3]


# -- grouping: quick messages of one pull on one handler thread -------------------------


class GroupRecorder:
    """A batch handler that acks each message and remembers the groups it was given."""

    def __init__(self, queue, *, fail: bool = False):
        self.queue = queue
        self.fail = fail
        self.groups: list[list[str]] = []

    def __call__(self, messages):
        self.groups.append([message.envelope.text for message in messages])
        if self.fail:
            raise RuntimeError("batch handler bug")
        for message in messages:
            self.queue.ack(message)
        return ["ack"] * len(messages)


def test_the_quick_messages_of_a_pull_reach_one_handler_together_and_the_rest_alone():
    queue = MemoryQueue()
    queue.publish_many([make_envelope(text) for text in ("quick 1", "slow", "quick 2", "quick 3")])
    alone = Recorder(queue)
    together = GroupRecorder(queue)
    grouping = Grouping(handle=together, groupable=lambda message: message.envelope.text.startswith("quick"))
    consumer = PullConsumer(queue, alone, concurrency=8, lease_seconds=30, grouping=grouping)

    consumer.run(threading.Event(), idle_exit_seconds=0.2)

    assert together.groups == [["quick 1", "quick 2", "quick 3"]]
    assert len(alone.seen) == 1
    assert consumer.handled == 4
    assert queue.stats().depth == 0


def test_a_group_whose_handler_raises_is_given_back_whole():
    queue = MemoryQueue()
    queue.publish_many([make_envelope(f"quick {n}") for n in range(3)])
    together = GroupRecorder(queue, fail=True)
    grouping = Grouping(handle=together, groupable=lambda message: True)
    consumer = PullConsumer(queue, Recorder(queue), concurrency=8, lease_seconds=30, grouping=grouping)
    stop = threading.Event()
    thread = run_in_thread(consumer, stop)

    assert wait_for(lambda: consumer.handled == 3)
    stop.set()
    thread.join(SOON)

    assert len(together.groups) == 1
    # Given back after the handler-error delay, not lost and not retried in a hot loop.
    assert queue.stats().depth == 3
    assert queue.pull(10, 30) == []
