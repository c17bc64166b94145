"""The streaming-pull consumer of ``run_worker`` on Pub/Sub.

Flow control keeps a bounded number of messages leased; each lease is extended
``lease_seconds`` at a time (at most up to the work deadline), so after a
``kill -9`` the messages this process held come back within about
``lease_seconds``. On stop the stream closes, running handlers finish (bounded by
the shutdown grace) and messages not yet started are nacked by the library.

``concurrency`` logs are worked on at once (the work gate), but it runs twice as
many handler threads and leases twice as many messages: while some threads wait
for their results to be stored (one Firestore commit shared by every result
ready at that moment), others already work on the next logs. At most
``concurrency`` more messages than are worked on are leased at any time, each
waiting for a slot at most as long as one log's work. The rules shared with the
pull loop (handler errors, deadlines, drain) are in ``processing.consumers.rules``.

Tenants' shares: one subscription hands messages out in its own order, so a
tenant with a long backlog could fill every slot and every lease, and another
tenant's log, once delivered, would wait behind its messages. While every work
slot is taken, a tenant already holding ``WORKER_TENANT_MAX_SHARE`` of them
(waiting for one or working) does not get another: that delivery is held back
until the next poll of the stream (at most ``poll_seconds``) and given back with
``WORKER_TENANT_SHED_DELAY_SECONDS`` of delay, freeing its lease for whatever
comes next; other tenants' deliveries take the free handlers and the next free
slots. A lone tenant still fills every slot (nothing is held back while one is
free). Holding back until the poll bounds how fast the stream can turn over a
backlog (the free leases every ``poll_seconds``); a delivery that has reached
half of ``PUBSUB_MAX_DELIVERY_ATTEMPTS`` is never held back, so giving deliveries
back can never send a log to the dead-letter topic.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError

from django.conf import settings
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.message import Message as StreamedMessage
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

from dataproc_site.observability import metrics
from processing import worker
from processing.consumers.rules import (
    HANDLER_ERROR_DELAY_SECONDS,
    Deadlines,
    DrainStuck,
    DrainWatch,
    ExpireHandler,
    MessageHandler,
    give_up,
)
from processing.db import release_thread_connections
from processing.queues.base import QueueUnavailable, ReceivedMessage
from processing.queues.pubsub import PubSubQueue, lease_extension_seconds

logger = logging.getLogger(__name__)


class StreamingConsumer:
    """One streaming-pull session feeding ``handler``; knows when it has gone idle."""

    poll_seconds = 0.2

    def __init__(
        self,
        queue: PubSubQueue,
        handler: MessageHandler,
        *,
        concurrency: int,
        lease_seconds: float,
        expire: ExpireHandler | None = None,
        deadline_seconds: float | None = None,
    ):
        self.queue = queue
        self.handler = handler
        self.expire = expire
        self.concurrency = max(1, concurrency)
        self.handler_threads = self.concurrency * 2
        self.work_gate = threading.BoundedSemaphore(self.concurrency)
        self.lease_seconds = lease_seconds
        self.deadlines = Deadlines(deadline_seconds)
        self.drain: DrainWatch | None = None
        self._keys = itertools.count()
        self._in_flight = 0
        self._last_activity = time.monotonic()
        self._counter_lock = threading.Lock()
        # Tenants' shares of the work slots: messages waiting for one or working, per tenant.
        self.tenant_cap = max(1, math.floor(float(settings.WORKER_TENANT_MAX_SHARE) * self.concurrency))
        self.held_back_delay_seconds = float(settings.WORKER_TENANT_SHED_DELAY_SECONDS)
        self._occupied: Counter[str] = Counter()
        self._occupied_total = 0
        self._held_back: list[ReceivedMessage] = []
        self.held_back_count = 0

    def flow_control(self) -> pubsub_v1.types.FlowControl:
        extension = lease_extension_seconds(self.lease_seconds)
        return pubsub_v1.types.FlowControl(
            max_messages=self.handler_threads,
            max_bytes=self.handler_threads * max(settings.INGEST_MAX_BODY_BYTES * 2, 1024 * 1024),
            # The library stops extending a lease past this; the watchdog below records
            # the attempt as failed at the same moment.
            max_lease_duration=self.deadlines.deadline_seconds,
            min_duration_per_lease_extension=extension,
            max_duration_per_lease_extension=extension,
        )

    def _callback(self, streamed: StreamedMessage) -> None:
        key = next(self._keys)
        with self._counter_lock:
            self._in_flight += 1
            self._last_activity = max(self._last_activity, time.monotonic())
        message = None
        action = None
        slot = None
        try:
            envelope = self.queue.decode_delivered(
                streamed.data, dict(streamed.attributes), streamed.message_id, streamed.delivery_attempt
            )
            if envelope is None:
                streamed.ack()
                return
            message = ReceivedMessage(
                message_id=streamed.message_id,
                envelope=envelope,
                delivery_attempt=streamed.delivery_attempt or 0,
                published_at=streamed.publish_time,
                lease=streamed,
            )
            slot = self._take_turn(message)
            if slot is None:
                self._hold_back(message)
                message = None  # not handled here: the run loop gives it back
                return
            self.deadlines.started(key, message)
            with worker.work_gated_by(slot):
                action = self.handler(message)
        except Exception:
            # Anything escaping the handler is a bug or an outage: give the message
            # back after a pause rather than at once.
            logger.exception("message handler failed", extra={"message_id": streamed.message_id})
            streamed.drop()
            streamed.modify_ack_deadline(int(HANDLER_ERROR_DELAY_SECONDS))
        finally:
            if slot is not None:
                slot.leave()
            expired = self.deadlines.finished(key)
            if self.drain is not None and message is not None and not expired:
                self.drain.handled(message, action if action is not None else "retry")
            release_thread_connections()
            with self._counter_lock:
                self._in_flight -= 1
                self._last_activity = max(self._last_activity, time.monotonic())

    def _take_turn(self, message: ReceivedMessage) -> _TenantSlot | None:
        """A place among the messages waiting for or holding a work slot; None: its tenant had its share."""
        tenant_id = message.envelope.tenant_id
        with self._counter_lock:
            if (
                self._occupied_total >= self.concurrency
                and self.tenant_cap < self.concurrency
                and self._occupied[tenant_id] >= self.tenant_cap
                and not self._near_dead_letter(message)
            ):
                self.held_back_count += 1
                return None
            self._occupied[tenant_id] += 1
            self._occupied_total += 1
        return _TenantSlot(self, tenant_id)

    @staticmethod
    def _near_dead_letter(message: ReceivedMessage) -> bool:
        """Delivered so often that giving it back again could reach the subscription's dead-letter limit."""
        return message.delivery_attempt >= settings.PUBSUB_MAX_DELIVERY_ATTEMPTS // 2

    def _leave(self, tenant_id: str) -> None:
        with self._counter_lock:
            self._occupied[tenant_id] -= 1
            if not self._occupied[tenant_id]:
                del self._occupied[tenant_id]
            self._occupied_total -= 1

    def _hold_back(self, message: ReceivedMessage) -> None:
        logger.debug(
            "tenant over its share of the work slots: delivery given back",
            extra={"message_id": message.message_id, "tenant_id": message.envelope.tenant_id},
        )
        metrics.record_held_back(message.envelope.tenant_id)
        with self._counter_lock:
            self._held_back.append(message)

    def _give_back_held(self) -> None:
        """Nack what was held back since the last poll, each with the short delay."""
        with self._counter_lock:
            held, self._held_back = self._held_back, []
            if held:
                # They come back after the delay: until then the queue is not idle (drain).
                self._last_activity = max(
                    self._last_activity, time.monotonic() + self.held_back_delay_seconds
                )
        for message in held:
            try:
                self.queue.nack(message, self.held_back_delay_seconds)
            except Exception:
                logger.warning(
                    "could not give a held-back delivery back; its lease runs out instead",
                    exc_info=True,
                    extra={"message_id": message.message_id},
                )

    def _expire_overdue(self) -> None:
        for message, ran_seconds in self.deadlines.expire_overdue():
            give_up(self.queue, message, ran_seconds, expire=self.expire, drain=self.drain)

    def idle_for(self) -> float:
        """How long nothing has been in flight (a message given up on past its deadline aside)."""
        given_up = self.deadlines.expired_count()
        with self._counter_lock:
            if self._in_flight - given_up > 0:
                return 0.0
            return time.monotonic() - self._last_activity

    def run(self, stop_event: threading.Event, *, idle_exit_seconds: float | None = None) -> None:
        """Consume until ``stop_event`` (or, draining, until idle); DrainStuck if only failures remain."""
        if idle_exit_seconds is not None:
            self.drain = DrainWatch(idle_seconds=idle_exit_seconds)
        scheduler = ThreadScheduler(
            executor=ThreadPoolExecutor(max_workers=self.handler_threads, thread_name_prefix="pubsub-handler")
        )
        future = self.queue.subscriber.subscribe(
            self.queue.subscription_path,
            self._callback,
            flow_control=self.flow_control(),
            scheduler=scheduler,
            await_callbacks_on_shutdown=True,
        )
        logger.info(
            "streaming pull started",
            extra={"subscription": self.queue.subscription_path, "concurrency": self.concurrency},
        )
        failure: BaseException | None = None
        stuck: str | None = None
        try:
            while not stop_event.is_set():
                if future.done():
                    failure = future.exception() or RuntimeError("streaming pull ended")
                    break
                self._expire_overdue()
                self._give_back_held()
                if idle_exit_seconds is not None:
                    if self.idle_for() >= idle_exit_seconds:
                        logger.info(
                            "queue idle: streaming pull stops", extra={"idle_seconds": idle_exit_seconds}
                        )
                        break
                    stuck = self.drain.stuck(lambda: None) if self.drain is not None else None
                    if stuck:
                        break
                stop_event.wait(self.poll_seconds)
        finally:
            self._give_back_held()
            future.cancel()  # stop the stream; running handlers finish, the rest are nacked
            try:
                future.result(timeout=settings.WORKER_SHUTDOWN_GRACE_SECONDS)
            except Exception as exc:
                if failure is None and not isinstance(exc, (FutureTimeoutError, TimeoutError)):
                    logger.debug("streaming pull closed with %r", exc)
            self._give_back_held()  # any held back while the stream closed
        if failure is not None:
            raise QueueUnavailable(f"streaming pull from {self.queue.subscription_path} failed: {failure}")
        if stuck:
            raise DrainStuck(stuck)


class _TenantSlot:
    """One admitted delivery: the work gate as ``decide`` holds it, and its tenant's count until the work is done.

    Storing the result happens after the gate is released, so it no longer counts
    against the tenant's share: a lone tenant keeps every slot busy meanwhile.
    """

    def __init__(self, consumer: StreamingConsumer, tenant_id: str) -> None:
        self.consumer = consumer
        self.tenant_id = tenant_id
        self._left = False
        self._lock = threading.Lock()

    def __enter__(self) -> _TenantSlot:
        self.consumer.work_gate.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.consumer.work_gate.release()
        self.leave()

    def leave(self) -> None:
        """Stop counting against the tenant's share (once; the work may never have started)."""
        with self._lock:
            if self._left:
                return
            self._left = True
        self.consumer._leave(self.tenant_id)
