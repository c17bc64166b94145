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
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError

from django.conf import settings
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.message import Message as StreamedMessage
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler

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
            self._last_activity = time.monotonic()
        message = None
        action = None
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
            self.deadlines.started(key, message)
            with worker.work_gated_by(self.work_gate):
                action = self.handler(message)
        except Exception:
            # Anything escaping the handler is a bug or an outage: give the message
            # back after a pause rather than at once.
            logger.exception("message handler failed", extra={"message_id": streamed.message_id})
            streamed.drop()
            streamed.modify_ack_deadline(int(HANDLER_ERROR_DELAY_SECONDS))
        finally:
            expired = self.deadlines.finished(key)
            if self.drain is not None and message is not None and not expired:
                self.drain.handled(message, action if action is not None else "retry")
            release_thread_connections()
            with self._counter_lock:
                self._in_flight -= 1
                self._last_activity = time.monotonic()

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
            future.cancel()  # stop the stream; running handlers finish, the rest are nacked
            try:
                future.result(timeout=settings.WORKER_SHUTDOWN_GRACE_SECONDS)
            except Exception as exc:
                if failure is None and not isinstance(exc, (FutureTimeoutError, TimeoutError)):
                    logger.debug("streaming pull closed with %r", exc)
        if failure is not None:
            raise QueueUnavailable(f"streaming pull from {self.queue.subscription_path} failed: {failure}")
        if stuck:
            raise DrainStuck(stuck)
