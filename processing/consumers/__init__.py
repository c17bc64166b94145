"""How ``run_worker`` feeds queued messages to the work: a pull loop, or Pub/Sub's streaming pull.

Both follow the same rules (``rules``): handler errors, work deadlines, shutdown
and drain. ``consume`` picks the one the queue backend is best served by.
"""

from __future__ import annotations

import threading

from processing.consumers.rules import DrainStuck, ExpireHandler, Grouping, MessageHandler
from processing.queues.base import BaseQueue

__all__ = ["DrainStuck", "Grouping", "consume"]


def consume(
    queue: BaseQueue,
    handler: MessageHandler,
    *,
    concurrency: int,
    lease_seconds: float,
    stop_event: threading.Event,
    idle_exit_seconds: float | None = None,
    expire: ExpireHandler | None = None,
    grouping: Grouping | None = None,
) -> None:
    """Feed ``queue``'s messages to ``handler`` until ``stop_event`` (or, draining, until idle).

    ``handler`` acks or nacks each message itself and returns the action taken;
    ``expire`` is called for a message past its work deadline; ``grouping`` lets
    the pull loop hand quick messages to one thread together (streaming pull
    delivers messages one at a time and handles each on its own).
    """
    if getattr(queue, "streaming_pull", False):
        from processing.consumers.streaming import StreamingConsumer

        consumer = StreamingConsumer(
            queue, handler, concurrency=concurrency, lease_seconds=lease_seconds, expire=expire
        )
    else:
        from processing.consumers.pull import PullConsumer

        consumer = PullConsumer(
            queue,
            handler,
            concurrency=concurrency,
            lease_seconds=lease_seconds,
            expire=expire,
            grouping=grouping,
        )
    consumer.run(stop_event, idle_exit_seconds=idle_exit_seconds)
