"""The queue contract every backend implements.

A backend provides a handful of primitives (publish, pull under a lease, ack,
nack with a delay, extend a lease, dead-letter, and dead-letter a raw payload that
is not an envelope); the consumers (``processing.consumers``), the push endpoint
and the console are written against these only. Delivery is at least once: a
message whose lease runs out (its worker died) is handed out again, so consumers
must be idempotent. How messages are fed to the work (threads, streaming,
deadlines) is the consumers' business, not the queue's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.envelope import LogEnvelope


class QueueUnavailable(Exception):
    """The broker cannot take or hand out messages right now; try again later."""


@dataclass
class ReceivedMessage:
    """A message handed to one consumer under a lease."""

    message_id: str
    envelope: LogEnvelope
    # How many times the queue has handed this message out, this time included.
    # 0 when the backend cannot tell (Pub/Sub without a dead-letter policy).
    delivery_attempt: int
    published_at: datetime | None
    # Backend-specific handle used by ack/nack/extend_lease (a lease token, an ack id...).
    lease: Any = None


@dataclass(frozen=True)
class QueueStats:
    depth: int | None
    oldest_age_seconds: float | None
    dead_lettered: int | None
    # Depth per tenant id (tenants with nothing queued absent), where the backend can tell.
    depth_by_tenant: Mapping[str, int] | None = None


class BaseQueue:
    """Subclasses implement the primitives; convenience methods build on them."""

    # The Django database alias whose transactions this queue's writes join (None:
    # not a database). A worker whose store writes to the same database can then
    # store results and ack their messages in one transaction (processing.batches).
    database_alias: str | None = None

    def publish(self, envelope: LogEnvelope) -> str:
        """Durably enqueue ``envelope``; return its message id only once the broker has it."""
        raise NotImplementedError("subclasses of BaseQueue must provide a publish() method")

    def pull(self, max_messages: int, lease_seconds: float) -> list[ReceivedMessage]:
        """Lease up to ``max_messages`` available messages for ``lease_seconds``."""
        raise NotImplementedError("subclasses of BaseQueue must provide a pull() method")

    def ack(self, message: ReceivedMessage) -> None:
        """The message is done: never deliver it again."""
        raise NotImplementedError("subclasses of BaseQueue must provide an ack() method")

    def nack(self, message: ReceivedMessage, delay_seconds: float = 0.0) -> None:
        """Give the message back, to be delivered again after ``delay_seconds``."""
        raise NotImplementedError("subclasses of BaseQueue must provide a nack() method")

    def extend_lease(self, message: ReceivedMessage, lease_seconds: float) -> None:
        """Keep the message for another ``lease_seconds`` from now (long work)."""
        raise NotImplementedError("subclasses of BaseQueue must provide an extend_lease() method")

    def dead_letter(self, message: ReceivedMessage) -> None:
        """Stop delivering the message and keep it aside for replay."""
        raise NotImplementedError("subclasses of BaseQueue must provide a dead_letter() method")

    def dead_letter_payload(self, payload: bytes, *, message_id: str, reason: str) -> None:
        """Keep a delivered payload that is not an envelope aside, as it came, for inspection.

        No worker can ever decode it, so it must neither be retried nor dropped.
        QueueUnavailable when it cannot be kept (the caller then leaves it to redelivery).
        """
        raise NotImplementedError("subclasses of BaseQueue must provide a dead_letter_payload() method")

    def check(self) -> None:
        """Raise QueueUnavailable unless the broker answers now (readiness probe)."""
        raise NotImplementedError("subclasses of BaseQueue must provide a check() method")

    # -- convenience, overridable where a backend does better ---------------------

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        return [self.publish(envelope) for envelope in envelopes]

    def ack_many(self, messages: Iterable[ReceivedMessage]) -> None:
        """Ack several messages; backends that can do it in one round trip override this."""
        for message in messages:
            self.ack(message)

    def replay(self, envelope: LogEnvelope) -> str:
        """Put a dead-lettered log back on the queue."""
        return self.publish(envelope)

    def stats(self) -> QueueStats:
        """Depth and age of the backlog where the backend can tell; None where not."""
        return QueueStats(depth=None, oldest_age_seconds=None, dead_lettered=None)

    def depth(self, *, tenant_id: str | None = None, up_to: int | None = None) -> int | None:
        """Messages in the queue (waiting, delayed or leased; not dead letters), of one tenant or all.

        None when the backend cannot tell. The count may stop at ``up_to`` (the
        answer is then at least that), so asking whether a cap is reached costs no
        more than the cap. Intake's queue-depth caps ask it on every upload
        (``ingest.backpressure``): backends answer from something cheap or not at all.
        """
        return None

    def close(self) -> None:
        """Release clients and connections held by this backend."""
