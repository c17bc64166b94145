"""The pull loop of ``run_worker`` on any queue backend (the database queue's only one).

One thread pulls; ``concurrency`` handler threads work. The work is mostly
sleeping (the simulated processing), so threads are the cheap way to keep ~100
messages in flight in one process. The pulling thread:

- pulls only as many messages as there are idle handlers, so nothing waits
  leased in a local buffer while other workers could take it; while handlers are
  busy it lets a few of them become idle (at most ``REFILL_WAIT_SECONDS``) so
  that one pull serves several of them. The exception is quick messages (under
  ``QUICK_HANDLING_SECONDS`` each, on a running mean): then it holds one batch
  more, so a handler that finishes never waits for the next claim;
- renews the lease of every message it holds every ``lease/3`` seconds, so a
  long message is never handed to a second worker while this one works on it;
- on stop, gives back (nacks) what was pulled but not started, lets running
  handlers finish within ``WORKER_SHUTDOWN_GRACE_SECONDS`` (still renewing their
  leases) and gives back whatever is still running after that;
- with a ``grouping``, hands the quick messages of one pull to one handler
  thread together (``processing.batches``), the others one per thread;
- stops renewing the lease of a message past its work deadline and records it as
  a failed attempt (``expire``); with ``idle_exit_seconds`` (``run_worker
  --drain``) it returns once nothing is in flight and the queue has stayed empty
  that long, or raises ``DrainStuck`` once only failing messages are left
  (``processing.consumers.rules``).

Handler threads are daemons: a process that must exit is never held hostage by
a message that outlives the grace period (its lease, or the nack, brings it back).
"""

from __future__ import annotations

import itertools
import logging
import queue as stdlib_queue
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections

from processing.consumers.rules import (
    HANDLER_ERROR_DELAY_SECONDS,
    Deadlines,
    DrainStuck,
    DrainWatch,
    ExpireHandler,
    Grouping,
    MessageHandler,
    give_up,
)
from processing.db import release_thread_connections
from processing.queues.base import BaseQueue, ReceivedMessage

logger = logging.getLogger(__name__)

# Longest the pulling thread sleeps before looking at the stop event again.
STOP_CHECK_SECONDS = 0.25
MAX_PULL_BACKOFF_SECONDS = 30.0
# With messages in flight, the pulling thread waits until a quarter of a batch of
# handlers is idle, or this long after its last pull, before pulling again: a pull
# per finished message (one claim transaction each on the database queue) costs
# more than quick messages' own work (bench/README.md, worker drain).
REFILL_WAIT_SECONDS = 0.02
# While messages take less than this to handle (no simulated work: redaction and a
# few writes), the consumer holds up to a batch more than it has handlers, so a
# handler that finishes takes its next message at once instead of waiting for the
# next claim (bench/README.md, worker drain).
# Slower messages are pulled only for idle handlers, as above.
QUICK_HANDLING_SECONDS = 0.05
# While messages are quick and grouped (one handler thread works on a pull's worth in
# turn), a pull takes up to this many: the claim, the store write and the ack, each
# with its commit, are then shared by more logs (docs/performance.md, "Worker").
GROUP_PULL_MESSAGES = 64
# Weight of the newest message in the running mean of handling times.
HANDLING_MEAN_WEIGHT = 0.1
# A handler thread that has waited this long for its next message hands its
# database connection back (a hundred idle threads must not hold a hundred).
IDLE_CONNECTION_SECONDS = 1.0


@dataclass(eq=False)
class _Delivery:
    key: int
    message: ReceivedMessage
    started: bool = False
    abandoned: bool = False
    expired: bool = False
    started_at: float = field(default=0.0)


class PullConsumer:
    """Feeds messages from ``queue`` to ``handler`` on a pool of threads; see the module docstring."""

    def __init__(
        self,
        queue: BaseQueue,
        handler: MessageHandler,
        *,
        concurrency: int,
        lease_seconds: float,
        batch_size: int | None = None,
        # How often an idle consumer looks for new messages: on the database queue,
        # end-to-end latency is about half of it plus the work; 0.1 s costs an idle
        # worker ten cheap queries a second (bench/README.md, end to end).
        poll_interval: float = 0.1,
        renew_interval: float | None = None,
        shutdown_grace_seconds: float | None = None,
        expire: ExpireHandler | None = None,
        deadline_seconds: float | None = None,
        grouping: Grouping | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.queue = queue
        self.handler = handler
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.batch_size = batch_size or min(concurrency, 100)
        self.group_pull_size = max(self.batch_size, GROUP_PULL_MESSAGES) if grouping else self.batch_size
        self.poll_interval = poll_interval
        self.renew_interval = renew_interval or lease_seconds / 3
        self.shutdown_grace_seconds = (
            settings.WORKER_SHUTDOWN_GRACE_SECONDS
            if shutdown_grace_seconds is None
            else shutdown_grace_seconds
        )
        self.expire = expire
        self.grouping = grouping
        self.deadlines = Deadlines(deadline_seconds)
        self.drain: DrainWatch | None = None
        self._lock = threading.Lock()
        self._in_flight: dict[int, _Delivery] = {}
        # One task is the deliveries one handler thread takes together (usually one).
        self._tasks: stdlib_queue.SimpleQueue[list[_Delivery] | None] = stdlib_queue.SimpleQueue()
        self._wakeup = threading.Event()
        self._keys = itertools.count()
        self._threads: list[threading.Thread] = []
        self.delivered = 0
        self.handled = 0
        # Running mean of how long a handler takes per message; None until one finished.
        self.mean_handling_seconds: float | None = None

    # -- the pulling thread -----------------------------------------------------

    def run(self, stop_event: threading.Event, *, idle_exit_seconds: float | None = None) -> None:
        """Pull and dispatch until ``stop_event`` is set (or the queue stays drained).

        Raises ``DrainStuck`` when draining and only messages that keep failing remain.
        """
        if idle_exit_seconds is not None:
            self.drain = DrainWatch(idle_seconds=idle_exit_seconds)
        self._start_threads()
        now = time.monotonic()
        idle_since = now
        next_renewal = now + self.renew_interval
        pull_failures = 0
        last_pull = float("-inf")
        try:
            while not stop_event.is_set():
                close_old_connections()
                now = time.monotonic()
                if now >= next_renewal:
                    self._expire_overdue()
                    self._renew_leases()
                    next_renewal = now + self.renew_interval
                in_flight = self.in_flight_count()
                capacity = self.capacity()
                pull_size = self.pull_size()
                requested = min(capacity - in_flight, pull_size)
                refill = max(1, pull_size // 4)
                refill_wait = last_pull + REFILL_WAIT_SECONDS - now
                if 0 < requested < refill and in_flight and refill_wait > 0:
                    # Busy handlers will free up in a moment: one pull for several of them.
                    self._sleep(stop_event, min(refill_wait, max(next_renewal - now, 0.0)))
                    continue
                if requested > 0:
                    last_pull = now
                pulled = 0
                if requested > 0:
                    try:
                        messages = self.queue.pull(requested, self.lease_seconds)
                    except Exception:
                        pull_failures += 1
                        delay = min(self.poll_interval * 2**pull_failures, MAX_PULL_BACKOFF_SECONDS)
                        logger.warning(
                            "pull failed; backing off",
                            exc_info=True,
                            extra={"retry_in_seconds": delay, "failures": pull_failures},
                        )
                        self._sleep(stop_event, delay)
                        continue
                    pull_failures = 0
                    pulled = len(messages)
                    self._dispatch(messages)
                if pulled or self.in_flight_count():
                    idle_since = now
                elif (
                    idle_exit_seconds is not None
                    and now - idle_since >= idle_exit_seconds
                    and self._queue_looks_empty()
                ):
                    logger.info("queue drained; consumer stopping", extra={"handled": self.handled})
                    return
                if self.drain is not None and (reason := self.drain.stuck(self._queue_depth)):
                    raise DrainStuck(reason)
                if requested and pulled == requested and self.in_flight_count() < capacity:
                    continue  # a full batch: there is probably more waiting
                wait = self.poll_interval if requested and pulled < requested else STOP_CHECK_SECONDS
                idle_left = idle_since + idle_exit_seconds - now if idle_exit_seconds is not None else 0.0
                if idle_left > 0:
                    # Wake in time to notice the idle period is over (drain exits promptly).
                    wait = min(wait, idle_left)
                self._sleep(stop_event, min(wait, max(next_renewal - time.monotonic(), 0.0)))
        finally:
            self._shut_down()

    def capacity(self) -> int:
        """How many messages to hold at once: one per handler, plus a pull ahead while they are quick."""
        return self.concurrency + self.pull_size() if self._quick() else self.concurrency

    def pull_size(self) -> int:
        """How many messages one pull asks for: more while they are quick and handled in groups."""
        return self.group_pull_size if self._quick() else self.batch_size

    def _quick(self) -> bool:
        """Whether messages take under ``QUICK_HANDLING_SECONDS`` each, on the running mean."""
        with self._lock:
            mean = self.mean_handling_seconds
        return mean is not None and mean < QUICK_HANDLING_SECONDS

    def in_flight_count(self) -> int:
        """Messages held and not given up on (an expired one no longer counts)."""
        with self._lock:
            return sum(1 for delivery in self._in_flight.values() if not delivery.expired)

    def _dispatch(self, messages: list[ReceivedMessage]) -> None:
        """Queue ``messages`` for the handlers: the groupable ones as one task, the rest one each."""
        together: list[_Delivery] = []
        alone: list[_Delivery] = []
        with self._lock:
            for message in messages:
                delivery = _Delivery(key=next(self._keys), message=message)
                self._in_flight[delivery.key] = delivery
                self.delivered += 1
                if self.grouping is not None and self.grouping.groupable(message):
                    together.append(delivery)
                else:
                    alone.append(delivery)
        if together:
            self._tasks.put(together)
        for delivery in alone:
            self._tasks.put([delivery])

    def _sleep(self, stop_event: threading.Event, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when a handler finishes or on stop."""
        deadline = time.monotonic() + seconds
        while not stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._wakeup.wait(min(remaining, STOP_CHECK_SECONDS)):
                self._wakeup.clear()
                return

    def _renew_leases(self) -> None:
        with self._lock:
            held = [delivery.message for delivery in self._in_flight.values() if not delivery.expired]
        for message in held:
            try:
                self.queue.extend_lease(message, self.lease_seconds)
            except Exception:
                logger.warning(
                    "lease renewal failed", exc_info=True, extra={"message_id": message.message_id}
                )

    def _expire_overdue(self) -> None:
        """Give up on messages past their deadline: their handler thread is replaced, not waited for."""
        for message, ran_seconds in self.deadlines.expire_overdue():
            with self._lock:
                for delivery in self._in_flight.values():
                    if delivery.message is message:
                        delivery.expired = True
            give_up(self.queue, message, ran_seconds, expire=self.expire, drain=self.drain)
            # The hung handler keeps its thread; the others keep the concurrency.
            self._start_thread()

    def _queue_depth(self) -> int | None:
        try:
            return self.queue.stats().depth
        except Exception:
            logger.warning("queue stats failed while draining", exc_info=True)
            return None

    def _queue_looks_empty(self) -> bool:
        """Drain mode: nothing waiting, delayed or leased elsewhere (when the backend can tell)."""
        try:
            depth = self.queue.stats().depth
        except Exception:
            logger.warning("queue stats failed while draining", exc_info=True)
            return False
        return depth is None or depth == 0

    def _shut_down(self) -> None:
        """Give back what never started, let running handlers finish within the grace period."""
        not_started = []
        with self._lock:
            for delivery in list(self._in_flight.values()):
                if not delivery.started:
                    delivery.abandoned = True
                    not_started.append(delivery)
                    del self._in_flight[delivery.key]
        self._give_back([delivery.message for delivery in not_started])
        for _thread in self._threads:
            self._tasks.put(None)
        running = self.in_flight_count()
        if running:
            logger.info(
                "waiting for in-flight messages",
                extra={"in_flight": running, "grace_seconds": self.shutdown_grace_seconds},
            )
        deadline = time.monotonic() + self.shutdown_grace_seconds
        next_renewal = time.monotonic() + self.renew_interval
        while self.in_flight_count() and time.monotonic() < deadline:
            if time.monotonic() >= next_renewal:
                self._renew_leases()
                next_renewal = time.monotonic() + self.renew_interval
            self._wakeup.wait(min(STOP_CHECK_SECONDS, max(deadline - time.monotonic(), 0.0)))
            self._wakeup.clear()
        with self._lock:
            unfinished = list(self._in_flight.values())
            for delivery in unfinished:
                delivery.abandoned = True
            self._in_flight.clear()
        if unfinished:
            logger.warning(
                "grace period over; giving back unfinished messages", extra={"unfinished": len(unfinished)}
            )
            self._give_back([delivery.message for delivery in unfinished])
        release_thread_connections()

    def _give_back(self, messages: list[ReceivedMessage]) -> None:
        for message in messages:
            try:
                self.queue.nack(message, 0.0)
            except Exception:
                # Its lease runs out soon enough; redelivery is only later.
                logger.warning(
                    "could not give a message back", exc_info=True, extra={"message_id": message.message_id}
                )

    # -- handler threads ---------------------------------------------------------

    def _start_threads(self) -> None:
        for _ in range(self.concurrency):
            self._start_thread()

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"consumer-{len(self._threads)}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        while True:
            try:
                task = self._tasks.get(timeout=IDLE_CONNECTION_SECONDS)
            except stdlib_queue.Empty:
                # Idle: hand the connection back before waiting on (see processing.db).
                # A thread that gets its next message within moments keeps it:
                # reconnecting for every message is a large share of a quick message's
                # cost (bench/README.md, worker drain).
                release_thread_connections()
                task = self._tasks.get()
            if task is None:
                release_thread_connections()
                return
            close_old_connections()  # as Django does per request: drop a broken or expired one
            with self._lock:
                # Given back at shutdown before they started: not this thread's any more.
                group = [delivery for delivery in task if not delivery.abandoned]
                started_at = time.monotonic()
                for delivery in group:
                    delivery.started = True
                    delivery.started_at = started_at
            if group:
                self._handle(group)

    def _handle(self, group: list[_Delivery]) -> None:
        for delivery in group:
            self.deadlines.started(delivery.key, delivery.message)
        actions: list[str | None] = [None] * len(group)
        try:
            if len(group) == 1:
                actions = [self.handler(group[0].message)]
            else:
                actions = list(self.grouping.handle([delivery.message for delivery in group]))
        except Exception:
            logger.exception(
                "message handler raised; giving the message back",
                extra={"message_id": group[0].message.message_id, "messages": len(group)},
            )
            for delivery in group:
                self._give_back_after_error(delivery)
        finally:
            # Each message's share of the thread's time: a group of quick ones is quick.
            elapsed = (time.monotonic() - group[0].started_at) / len(group)
            for delivery, action in zip(group, actions, strict=True):
                expired = self.deadlines.finished(delivery.key)
                if self.drain is not None and not expired:
                    self.drain.handled(delivery.message, action if action is not None else "retry")
            with self._lock:
                for delivery in group:
                    self._in_flight.pop(delivery.key, None)
                    self.handled += 1
                    mean = self.mean_handling_seconds
                    self.mean_handling_seconds = (
                        elapsed if mean is None else mean + HANDLING_MEAN_WEIGHT * (elapsed - mean)
                    )
            self._wakeup.set()

    def _give_back_after_error(self, delivery: _Delivery) -> None:
        try:
            self.queue.nack(delivery.message, HANDLER_ERROR_DELAY_SECONDS)
        except Exception:
            logger.warning(
                "could not give a message back",
                exc_info=True,
                extra={"message_id": delivery.message.message_id},
            )
