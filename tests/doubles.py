"""Backends that fail on purpose, built on the memory backends: what an outage looks like to a caller.

Selected by dotted path in QUEUE_BACKEND / LOG_STORE_BACKEND.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DataError

from core.envelope import LogEnvelope
from core.records import LogPage
from processing.queues.base import QueueStats, QueueUnavailable
from processing.queues.memory import MemoryQueue
from tenants.stores.memory import MemoryLogStore


class UnavailableQueue(MemoryQueue):
    """A broker that is down: every publish and check fails."""

    def publish(self, envelope: LogEnvelope) -> str:
        raise QueueUnavailable("broker down")

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        raise QueueUnavailable("broker down")

    def check(self) -> None:
        raise QueueUnavailable("broker down")

    def depth(self, *, tenant_id: str | None = None, up_to: int | None = None) -> int | None:
        raise QueueUnavailable("broker down")


class BrokenQueue(MemoryQueue):
    """A backend failing in a way it does not classify (a bug or an odd driver error)."""

    def publish(self, envelope: LogEnvelope) -> str:
        raise RuntimeError("unexpected driver failure")

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        raise RuntimeError("unexpected driver failure")

    def stats(self) -> QueueStats:
        raise QueueUnavailable("broker down")


class BusyQueue(MemoryQueue):
    """A backlog of fixed size, to see what a scrape makes of it."""

    def stats(self) -> QueueStats:
        return QueueStats(
            depth=42,
            oldest_age_seconds=12.5,
            dead_lettered=3,
            depth_by_tenant={"acme": 30, "beta_inc": 10, "made-up-1": 1, "made-up-2": 1},
        )


class SilentQueue(MemoryQueue):
    """Like Pub/Sub: the subscriber cannot tell its backlog."""

    def stats(self) -> QueueStats:
        return QueueStats(depth=None, oldest_age_seconds=None, dead_lettered=None)

    def depth(self, *, tenant_id: str | None = None, up_to: int | None = None) -> int | None:
        return None


class UnavailableStore(MemoryLogStore):
    def __init__(self) -> None:
        super().__init__()
        self.unavailable = True


class DataErrorStore(MemoryLogStore):
    """A store whose database rejects the query's parameters (a forged cursor)."""

    def list_logs(self, tenant_id: str, **kwargs) -> LogPage:
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
