"""The rules every consumer follows, whatever feeds it (a pull loop, a Pub/Sub stream).

- A handler that raises (a bug, not a failed log: the worker catches those) gets
  its message back after ``HANDLER_ERROR_DELAY_SECONDS``, never in a hot loop.
- Every message has a work deadline (``WORKER_MESSAGE_DEADLINE_SECONDS``, like
  Zulip's ``MAX_CONSUME_SECONDS``): past it, its lease is no longer renewed, the
  attempt is recorded as failed (``expire``) and the message handed back, so a hung
  handler cannot hold a lease forever and a log that always hangs ends dead-lettered.
- Shutdown: stop taking messages, give back what never started, let running ones
  finish within ``WORKER_SHUTDOWN_GRACE_SECONDS``.
- Drain (``run_worker --drain``): end once the queue has stayed empty for the idle
  period with nothing in flight; end with ``DrainStuck`` instead once only messages
  that keep failing remain (each failed more than ``WORKER_MAX_ATTEMPTS`` times in
  this run without ever succeeding or being dead-lettered: a store outage, a bug),
  since waiting for them could last forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from processing.queues.base import BaseQueue, ReceivedMessage

logger = logging.getLogger(__name__)

HANDLER_ERROR_DELAY_SECONDS = 10.0

# What a handler returns: the action taken on the message ("ack", "retry",
# "dead_letter"), or None when it cannot say.
MessageHandler = Callable[[ReceivedMessage], str | None]
# Called for a message past its deadline, with the seconds it ran: records the
# failed attempt and hands the message back (processing.worker.expire_message).
ExpireHandler = Callable[[ReceivedMessage, float], None]
# Handles several messages on one thread, acking or nacking each itself; returns one
# action per message, in order (processing.batches.process_batch).
BatchHandler = Callable[[list[ReceivedMessage]], list[str | None]]


@dataclass(frozen=True)
class Grouping:
    """Which messages of one pull a handler thread may take together, and what handles them.

    Quick messages cost less together than one thread each: one store write and
    one ack for the group instead of a shared transaction that sixteen threads
    queue for (processing.batches).
    """

    handle: BatchHandler
    groupable: Callable[[ReceivedMessage], bool]


RETRY = "retry"


def message_deadline_seconds() -> float:
    return float(settings.WORKER_MESSAGE_DEADLINE_SECONDS)


class DrainStuck(Exception):
    """``--drain`` gave up: only messages that keep failing are left."""


@dataclass
class _Running:
    message: ReceivedMessage
    started_at: float
    expired: bool = False


class Deadlines:
    """The messages being worked on and since when; which of them are past the deadline."""

    def __init__(self, deadline_seconds: float | None = None) -> None:
        self.deadline_seconds = deadline_seconds or message_deadline_seconds()
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}

    def started(self, key: int, message: ReceivedMessage) -> None:
        with self._lock:
            self._running[key] = _Running(message, time.monotonic())

    def finished(self, key: int) -> bool:
        """Forget ``key``; True when it had been expired meanwhile (its outcome no longer counts)."""
        with self._lock:
            running = self._running.pop(key, None)
        return running is not None and running.expired

    def expire_overdue(self) -> list[tuple[ReceivedMessage, float]]:
        """Mark every message past its deadline expired, once; return them with their run time."""
        now = time.monotonic()
        overdue = []
        with self._lock:
            for running in self._running.values():
                ran = now - running.started_at
                if not running.expired and ran >= self.deadline_seconds:
                    running.expired = True
                    overdue.append((running.message, ran))
        return overdue

    def expired_count(self) -> int:
        """Messages given up on whose handler has not returned yet."""
        with self._lock:
            return sum(1 for running in self._running.values() if running.expired)


def give_up(
    queue: BaseQueue,
    message: ReceivedMessage,
    ran_seconds: float,
    *,
    expire: ExpireHandler | None,
    drain: DrainWatch | None,
) -> None:
    """What every consumer does with a message past its deadline: record it failed, hand it back."""
    logger.error(
        "message past its work deadline; giving it up",
        extra={"message_id": message.message_id, "ran_seconds": round(ran_seconds, 1)},
    )
    try:
        if expire is not None:
            expire(message, ran_seconds)
        else:
            queue.nack(message, HANDLER_ERROR_DELAY_SECONDS)
    except Exception:
        logger.warning(
            "could not give up an overdue message; its lease runs out instead",
            exc_info=True,
            extra={"message_id": message.message_id},
        )
    if drain is not None:
        drain.handled(message, RETRY)


@dataclass
class DrainWatch:
    """Progress of a draining consumer: when it may stop, and when it must give up."""

    idle_seconds: float
    give_up_after_failures: int = field(default_factory=lambda: settings.WORKER_MAX_ATTEMPTS + 1)
    _failures: dict[str, int] = field(default_factory=dict)
    _last_progress: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handled(self, message: ReceivedMessage, action: str | None) -> None:
        with self._lock:
            if action == RETRY:
                self._failures[message.message_id] = self._failures.get(message.message_id, 0) + 1
            else:
                self._failures.pop(message.message_id, None)
                self._last_progress = time.monotonic()

    def stuck(self, depth: Callable[[], int | None]) -> str | None:
        """Why draining should give up now, or None; ``depth`` (the queue's backlog) is asked last."""
        with self._lock:
            failing = dict(self._failures)
            quiet = time.monotonic() - self._last_progress
        if not failing or quiet < self.idle_seconds:
            return None
        if min(failing.values()) < self.give_up_after_failures:
            return None
        backlog = depth()
        if backlog is not None and backlog > len(failing):
            return None  # others are still waiting (or leased by another worker)
        return (
            f"{len(failing)} message(s) kept failing ({max(failing.values())} failed deliveries in this "
            f"run) and nothing else is left: {', '.join(sorted(failing)[:5])}"
        )
