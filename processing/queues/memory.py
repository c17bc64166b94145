"""An in-process queue with the database queue's semantics, for fast unit tests.

Leases, delays, attempt counting, stale-lease protection, dead letters and the
tenants' turns (``processing.queues.turns``) all behave as in ``DatabaseQueue``;
nothing survives the process, so it is for tests and experiments only
(``QUEUE_BACKEND=memory``). Thread-safe: the consumer's threads and the test's
threads share one instance.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from core.envelope import LogEnvelope
from processing.queues.base import BaseQueue, QueueStats, ReceivedMessage
from processing.queues.turns import interleave, starting_after


@dataclass
class _Entry:
    message_id: str
    payload: str
    published_at: datetime
    published_monotonic: float
    available_at: float
    sequence: int
    tenant_id: str = ""
    lease_token: str | None = None
    delivery_attempts: int = 0
    dead: bool = False


@dataclass(frozen=True)
class MemoryLease:
    token: str


class MemoryQueue(BaseQueue):
    """Messages in a dict guarded by one lock; time from ``time.monotonic``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._sequence = 0
        self._turn_after: str | None = None

    def publish(self, envelope: LogEnvelope) -> str:
        return self.publish_many([envelope])[0]

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        # Serialise first so the payload is exactly what a real broker would carry.
        payloads = [(envelope.to_json(), envelope.tenant_id) for envelope in envelopes]
        now, published_at = time.monotonic(), datetime.now(UTC)
        message_ids = []
        with self._lock:
            for payload, tenant_id in payloads:
                message_id = str(uuid.uuid4())
                self._sequence += 1
                self._entries[message_id] = _Entry(
                    message_id=message_id,
                    payload=payload,
                    published_at=published_at,
                    published_monotonic=now,
                    available_at=now,
                    sequence=self._sequence,
                    tenant_id=tenant_id,
                )
                message_ids.append(message_id)
        return message_ids

    def replay(self, envelope: LogEnvelope) -> str:
        with self._lock:
            for message_id, entry in list(self._entries.items()):
                if not entry.dead:
                    continue
                try:
                    replayed = LogEnvelope.from_json(entry.payload)
                except (ValueError, TypeError):
                    continue  # a payload kept aside that was never an envelope
                if (replayed.tenant_id, replayed.log_id) == (
                    envelope.tenant_id,
                    envelope.log_id,
                ):
                    del self._entries[message_id]
        return self.publish(envelope)

    def pull(self, max_messages: int, lease_seconds: float) -> list[ReceivedMessage]:
        now = time.monotonic()
        received = []
        with self._lock:
            due = sorted(
                (entry for entry in self._entries.values() if not entry.dead and entry.available_at <= now),
                key=lambda entry: (entry.available_at, entry.sequence),
            )
            by_tenant: dict[str, list[_Entry]] = defaultdict(list)
            for entry in due:
                by_tenant[entry.tenant_id].append(entry)
            tenant_ids = starting_after(sorted(by_tenant), self._turn_after)
            if tenant_ids:
                self._turn_after = tenant_ids[0]
            taken = interleave([by_tenant[tenant_id] for tenant_id in tenant_ids], max(max_messages, 0))
            for entry in taken:
                entry.available_at = now + lease_seconds
                entry.lease_token = uuid.uuid4().hex
                entry.delivery_attempts += 1
                received.append(
                    ReceivedMessage(
                        message_id=entry.message_id,
                        envelope=LogEnvelope.from_json(entry.payload),
                        delivery_attempt=entry.delivery_attempts,
                        published_at=entry.published_at,
                        lease=MemoryLease(entry.lease_token),
                    )
                )
        return received

    def ack(self, message: ReceivedMessage) -> None:
        with self._lock:
            if self._held(message):
                del self._entries[message.message_id]

    def nack(self, message: ReceivedMessage, delay_seconds: float = 0.0) -> None:
        with self._lock:
            entry = self._held(message)
            if entry:
                entry.available_at = time.monotonic() + max(delay_seconds, 0.0)
                entry.lease_token = None

    def extend_lease(self, message: ReceivedMessage, lease_seconds: float) -> None:
        with self._lock:
            entry = self._held(message)
            if entry:
                entry.available_at = time.monotonic() + lease_seconds

    def dead_letter(self, message: ReceivedMessage) -> None:
        if message.lease is None:  # a push delivery: nothing is held, keep it as a new dead letter
            self.dead_letter_payload(message.envelope.to_bytes(), message_id=message.message_id, reason="")
            return
        with self._lock:
            entry = self._held(message)
            if entry:
                entry.dead = True
                entry.lease_token = None

    def dead_letter_payload(self, payload: bytes, *, message_id: str, reason: str) -> None:
        with self._lock:
            self._sequence += 1
            self._entries[message_id or str(uuid.uuid4())] = _Entry(
                message_id=message_id,
                payload=payload.decode("utf-8", "backslashreplace"),
                published_at=datetime.now(UTC),
                published_monotonic=time.monotonic(),
                available_at=float("inf"),
                sequence=self._sequence,
                dead=True,
            )

    def queued(self) -> list[tuple[str, LogEnvelope]]:
        """``(message_id, envelope)`` of every message waiting or leased, in publish order (inspection)."""
        with self._lock:
            entries = sorted(
                (entry for entry in self._entries.values() if not entry.dead),
                key=lambda entry: entry.sequence,
            )
            return [(entry.message_id, LogEnvelope.from_json(entry.payload)) for entry in entries]

    def queued_envelopes(self) -> list[LogEnvelope]:
        """Every envelope waiting or leased, in publish order: what a test inspects."""
        return [envelope for _, envelope in self.queued()]

    def check(self) -> None:
        """Always available: it lives in this process."""

    def stats(self) -> QueueStats:
        now = time.monotonic()
        with self._lock:
            ready = [entry for entry in self._entries.values() if not entry.dead]
            dead = len(self._entries) - len(ready)
            oldest = min((entry.published_monotonic for entry in ready), default=None)
        age = now - oldest if oldest is not None else None
        by_tenant = dict(Counter(entry.tenant_id for entry in ready))
        return QueueStats(
            depth=len(ready), oldest_age_seconds=age, dead_lettered=dead, depth_by_tenant=by_tenant
        )

    def depth(self, *, tenant_id: str | None = None, up_to: int | None = None) -> int:
        with self._lock:
            count = sum(
                1
                for entry in self._entries.values()
                if not entry.dead and (tenant_id is None or entry.tenant_id == tenant_id)
            )
        return count if up_to is None else min(count, up_to)

    def _held(self, message: ReceivedMessage) -> _Entry | None:
        """The entry, only while this delivery's lease token is still on it (caller holds the lock)."""
        entry = self._entries.get(message.message_id)
        lease = message.lease
        if entry is None or entry.dead or not isinstance(lease, MemoryLease):
            return None
        return entry if entry.lease_token == lease.token else None
