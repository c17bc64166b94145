"""The embedded queue: a table in the Django database (SQLite or PostgreSQL).

A message is claimable when ``state = ready`` and ``available_at <= now``.
Claiming it moves ``available_at`` to the end of the lease and sets a fresh
``lease_token``; a worker that dies simply lets the lease run out, and the
message is claimable again (crash recovery needs no sweeper). Ack, nack,
extend and dead-letter act only while the token matches, so a worker whose
lease ran out cannot ack a message that was meanwhile handed to someone else.

Claims are fair across tenants: the tenants with messages waiting take turns,
oldest first within each (``_claim_candidates``, ``processing.queues.turns``), so
a tenant's backlog of 30,000 logs holds another tenant's new log back by one
claim, not by 30,000 logs. Finding the tenants costs one index seek each
(``queue_message_by_tenant``), and each tenant's share is a range of the same
index: claims stay as cheap with a long backlog as with none.

Claims on PostgreSQL lock candidate rows with ``SELECT ... FOR UPDATE SKIP
LOCKED`` so concurrent workers take disjoint rows without waiting on each other.
SQLite has one writer at a time (settings open transactions IMMEDIATE), and the
claim is additionally a conditional UPDATE (still ready, still due), so two
claimers can never both win a row whatever the transaction mode.

Every database error becomes ``QueueUnavailable``: the API answers 503 and the
worker backs off, instead of a 500 or a dead loop.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from core.envelope import LogEnvelope
from core.identifiers import time_ordered_uuids
from dataproc_site.coalescing import Coalescer
from dataproc_site.observability import metrics
from dataproc_site.transactions import write_transaction
from processing.models import QueueMessage
from processing.queues.base import BaseQueue, QueueStats, QueueUnavailable, ReceivedMessage
from processing.queues.database_claims import ClaimRow, claim_candidates
from processing.queues.database_statements import claim_rows, delete_held_rows, rows_holding

logger = logging.getLogger(__name__)

# How long the readiness check waits for the queue's write lock before calling it unavailable.
CHECK_LOCK_TIMEOUT_SECONDS = 1.0
# How long a publish waits for a table lock on PostgreSQL (SQLite: its busy timeout).
PUBLISH_LOCK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class DatabaseLease:
    """What a ``ReceivedMessage`` carries to prove it still holds its claim."""

    row_id: int
    token: uuid.UUID


def _unavailable_on_database_error(method):
    @wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except DatabaseError as exc:
            raise QueueUnavailable(f"database queue unavailable: {exc}") from exc

    return wrapper


class DatabaseQueue(BaseQueue):
    """Queue on the ``processing.QueueMessage`` table of the default database."""

    database_alias = "default"

    def __init__(self) -> None:
        # Concurrent publishes (API threads: single logs and batches alike) and acks
        # (worker threads) of this process share one transaction each way; see
        # dataproc_site.coalescing. One process then asks SQLite for its write lock once
        # per group, not once per request: its threads queue in Python, in order,
        # rather than in SQLite's busy handler, which sleeps while the lock is free
        # (bench/README.md, "The embedded queue under batch load").
        self._insert_together = Coalescer(self._insert_row_groups, shared_errors=(DatabaseError,))
        self._ack_together = Coalescer(self.ack_many, shared_errors=(QueueUnavailable,))
        self._backlog_seen = False
        # The tenant the last claim ended with: the next one starts after it.
        self._turn_after: str | None = None

    @_unavailable_on_database_error
    def publish(self, envelope: LogEnvelope) -> str:
        return self.publish_many([envelope])[0]

    @staticmethod
    def _insert_rows(rows: list[tuple]) -> list[str]:
        """Insert ``rows`` (``_new_rows``) in one transaction; their message ids."""
        own_transaction = not connection.in_atomic_block
        with write_transaction():
            if own_transaction and connection.vendor == "postgresql":
                # A lock held elsewhere (a migration, a stuck transaction) refuses the
                # publish within seconds, as SQLite's busy timeout does, rather than
                # holding the request until gunicorn gives up on it.
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {int(PUBLISH_LOCK_TIMEOUT_SECONDS * 1000)}")
            insert_new_rows(rows)
        return [row[0] for row in rows]

    @_unavailable_on_database_error
    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        rows = _new_rows(envelopes, timezone.now())
        if not rows:
            return []
        if connection.in_atomic_block:
            # The caller's transaction decides; it must not commit other threads' rows.
            return self._insert_rows(rows)
        return self._insert_together(rows)

    @classmethod
    def _insert_row_groups(cls, groups: list[list[tuple]]) -> list[list[str]]:
        """Several callers' rows in one transaction; each caller gets its own ids back."""
        ids = cls._insert_rows([row for group in groups for row in group])
        answers, start = [], 0
        for group in groups:
            answers.append(ids[start : start + len(group)])
            start += len(group)
        return answers

    @_unavailable_on_database_error
    def replay(self, envelope: LogEnvelope) -> str:
        """Publish the log again and drop its dead-lettered copies, in one transaction."""
        with write_transaction():
            QueueMessage.objects.filter(
                state=QueueMessage.STATE_DEAD, tenant_id=envelope.tenant_id, log_id=envelope.log_id
            ).delete()
            rows = _new_rows([envelope], timezone.now())
            insert_new_rows(rows)
        return rows[0][0]

    @_unavailable_on_database_error
    def pull(self, max_messages: int, lease_seconds: float) -> list[ReceivedMessage]:
        if max_messages < 1:
            return []
        now = timezone.now()
        token = uuid.uuid4()
        claimable = QueueMessage.objects.filter(state=QueueMessage.STATE_READY, available_at__lte=now)
        if not connection.in_atomic_block and not self._backlog_seen and not claimable.exists():
            # An idle worker polls often; on SQLite the claim transaction would take
            # the write lock (IMMEDIATE) each time, in the way of the API's inserts.
            return []
        with write_transaction():
            rows = self._claim_candidates(now, max_messages)
            # A full batch says more is waiting: the next pull skips the look.
            self._backlog_seen = len(rows) == max_messages
            if not rows:
                return []
            previous_tokens = {row.id: row.lease_token for row in rows}
            claimed_count = claim_rows(
                list(previous_tokens), now, now + timedelta(seconds=lease_seconds), token
            )
            if claimed_count < len(rows):
                # Some went to a concurrent claimer between the select and the update
                # (not possible under SQLite's write lock or PostgreSQL's row locks, but
                # the update says so): keep those that carry this claim's token.
                won = rows_holding(list(previous_tokens), token)
                rows = [row for row in rows if row.id in won]
            for row in rows:
                row.delivery_attempts += 1
        claimed = rows  # in claim order: the tenants' turns, oldest first within each
        # A claimable row still holding a lease token was never acked or nacked:
        # its lease ran out (a worker died or stalled) and it is being redelivered.
        expired = sum(1 for row in claimed if previous_tokens[row.id] is not None)
        if expired:
            metrics.record_lease_expired(expired)
        received = []
        for row in claimed:
            try:
                received.append(self._received(row, token))
            except (ValueError, TypeError, AttributeError) as exc:
                # Not an envelope (a bug, a hand edit, a format change mid-deploy): no
                # worker will ever decode it, and failing the whole pull for it would
                # stall every message claimed with it, lease after lease.
                self._park_undecodable(row, token, exc)
        return received

    def _claim_candidates(self, now: datetime, max_messages: int) -> list[ClaimRow]:
        """Up to ``max_messages`` claimable rows, the tenants taking turns (``database_claims``)."""
        rows, self._turn_after = claim_candidates(now, max_messages, after=self._turn_after)
        return rows

    def _park_undecodable(self, row: ClaimRow, token: uuid.UUID, error: Exception) -> None:
        logger.error(
            "undecodable message dead-lettered",
            extra={"message_id": row.message_id, "error": f"{type(error).__name__}: {error}"[:500]},
        )
        QueueMessage.objects.filter(id=row.id, lease_token=token).update(
            state=QueueMessage.STATE_DEAD, lease_token=None, dead_lettered_at=timezone.now()
        )

    def ack(self, message: ReceivedMessage) -> None:
        """Concurrent acks from the worker's threads share one transaction (``ack_many``)."""
        if connection.in_atomic_block:
            self.ack_many([message])
        else:
            self._ack_together(message)

    @_unavailable_on_database_error
    def ack_many(self, messages: Iterable[ReceivedMessage]) -> None:
        """Delete the rows of ``messages`` still held under their lease, in one transaction."""
        messages = list(messages)
        row_ids_by_token: dict[uuid.UUID, list[int]] = defaultdict(list)
        for message in messages:
            lease = self._lease(message)
            row_ids_by_token[lease.token].append(lease.row_id)
        deleted = 0
        with write_transaction():
            for token, row_ids in row_ids_by_token.items():
                deleted += delete_held_rows(token, row_ids)
        if deleted < len(messages):
            logger.info("stale acks ignored", extra={"stale": len(messages) - deleted})

    @_unavailable_on_database_error
    def nack(self, message: ReceivedMessage, delay_seconds: float = 0.0) -> None:
        available_at = timezone.now() + timedelta(seconds=max(delay_seconds, 0.0))
        with write_transaction():
            given_back = self._held(message).update(available_at=available_at, lease_token=None)
        if not given_back:
            logger.info("stale nack ignored", extra={"message_id": message.message_id})

    @_unavailable_on_database_error
    def extend_lease(self, message: ReceivedMessage, lease_seconds: float) -> None:
        available_at = timezone.now() + timedelta(seconds=lease_seconds)
        with write_transaction():
            extended = self._held(message).update(available_at=available_at)
        if not extended:
            logger.info("lease extension of a lost lease ignored", extra={"message_id": message.message_id})

    @_unavailable_on_database_error
    def dead_letter(self, message: ReceivedMessage) -> None:
        """Set the leased row aside; a message with no lease (a push delivery) is kept as a new row."""
        if message.lease is None:
            self._insert_dead(message.envelope.to_json(), message.envelope.tenant_id, message.envelope.log_id)
            return
        with write_transaction():
            set_aside = self._held(message).update(
                state=QueueMessage.STATE_DEAD, lease_token=None, dead_lettered_at=timezone.now()
            )
        if not set_aside:
            logger.info("stale dead-letter ignored", extra={"message_id": message.message_id})

    @_unavailable_on_database_error
    def dead_letter_payload(self, payload: bytes, *, message_id: str, reason: str) -> None:
        logger.error(
            "undecodable message dead-lettered", extra={"message_id": message_id, "error": reason[:500]}
        )
        self._insert_dead(payload.decode("utf-8", "backslashreplace"), "", "")

    @staticmethod
    def _insert_dead(payload: str, tenant_id: str, log_id: str) -> None:
        now = timezone.now()
        QueueMessage.objects.create(
            payload=payload,
            state=QueueMessage.STATE_DEAD,
            available_at=now,
            published_at=now,
            tenant_id=tenant_id,
            log_id=log_id,
            dead_lettered_at=now,
        )

    def check(self) -> None:
        """Readiness: the table answers and a publish could take its write lock within a second.

        A plain read is not enough: while another connection holds the write lock
        (a migration, a stuck transaction) reads still succeed, yet every publish
        would wait out its busy or lock timeout and fail.
        """
        try:
            QueueMessage.objects.filter(state=QueueMessage.STATE_READY).exists()
            if not connection.in_atomic_block:
                self._probe_write_lock()
        except DatabaseError as exc:
            raise QueueUnavailable(f"database queue unavailable: {exc}") from exc

    @staticmethod
    def _probe_write_lock() -> None:
        table = connection.ops.quote_name(QueueMessage._meta.db_table)
        if connection.vendor == "postgresql":
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {int(CHECK_LOCK_TIMEOUT_SECONDS * 1000)}")
                # The lock an INSERT takes; it waits only for table-level locks.
                cursor.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
        elif connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout")
                previous = int(cursor.fetchone()[0])
                cursor.execute(f"PRAGMA busy_timeout = {int(CHECK_LOCK_TIMEOUT_SECONDS * 1000)}")
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    cursor.execute("ROLLBACK")
                finally:
                    cursor.execute(f"PRAGMA busy_timeout = {previous}")

    @_unavailable_on_database_error
    def stats(self) -> QueueStats:
        ready = QueueMessage.objects.filter(state=QueueMessage.STATE_READY)
        # One pass over the tenant index gives the depth of each tenant and the total.
        by_tenant = dict(
            ready.order_by()
            .values_list("tenant_id")
            .annotate(queued=Count("id"))
            .values_list("tenant_id", "queued")
        )
        oldest = ready.aggregate(oldest=Min("published_at"))["oldest"]
        dead = QueueMessage.objects.filter(state=QueueMessage.STATE_DEAD).count()
        age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else None
        return QueueStats(
            depth=sum(by_tenant.values()),
            oldest_age_seconds=age,
            dead_lettered=dead,
            depth_by_tenant=by_tenant,
        )

    @_unavailable_on_database_error
    def depth(self, *, tenant_id: str | None = None, up_to: int | None = None) -> int:
        """Exact: a count of index entries alone (``queue_message_by_tenant`` for a tenant), at most ``up_to``."""
        ready = QueueMessage.objects.filter(state=QueueMessage.STATE_READY)
        if tenant_id is not None:
            ready = ready.filter(tenant_id=tenant_id)
        if up_to is not None:
            ready = ready.order_by()[: max(up_to, 0)]
        return ready.count()

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def _received(row: ClaimRow, token: uuid.UUID) -> ReceivedMessage:
        return ReceivedMessage(
            message_id=row.message_id,
            envelope=LogEnvelope.from_json(row.payload),
            delivery_attempt=row.delivery_attempts,
            published_at=row.published_at,
            lease=DatabaseLease(row_id=row.id, token=token),
        )

    @staticmethod
    def _lease(message: ReceivedMessage) -> DatabaseLease:
        if not isinstance(message.lease, DatabaseLease):
            raise TypeError(f"{message.message_id} was not received from a DatabaseQueue")
        return message.lease

    @classmethod
    def _held(cls, message: ReceivedMessage):
        """The message's row, only while this delivery's lease token is still on it."""
        lease = cls._lease(message)
        return QueueMessage.objects.filter(
            id=lease.row_id, lease_token=lease.token, state=QueueMessage.STATE_READY
        )


# -- publishing -------------------------------------------------------------------------

_INSERTED_COLUMNS = (
    "message_id",
    "payload",
    "state",
    "available_at",
    "lease_token",
    "delivery_attempts",
    "published_at",
    "tenant_id",
    "log_id",
    "dead_lettered_at",
)


def _insert_statement() -> str:
    """The INSERT of one ready message, in the connection's quoting and placeholders."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(QueueMessage._meta.get_field(name).column) for name in _INSERTED_COLUMNS)
    placeholders = ", ".join(["%s"] * len(_INSERTED_COLUMNS))
    # The model's own table and columns; every value is bound.
    return f"INSERT INTO {quote(QueueMessage._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608


def insert_new_rows(rows: list[tuple]) -> None:
    """Insert ``rows`` (``_new_rows``) with one prepared statement, in the caller's transaction.

    A raw ``executemany`` rather than model instances and ``bulk_create``: for a
    batch of 500 logs the ORM spent several times longer building and compiling the
    rows than the database took to insert them.
    """
    with connection.cursor() as cursor:
        cursor.executemany(_insert_statement(), [row[1:] for row in rows])


def _new_rows(envelopes: Iterable[LogEnvelope], now: datetime) -> list[tuple]:
    """One row per envelope: its message id as text, then the values of ``_INSERTED_COLUMNS``.

    Values are adapted for the database as the ORM would: the time once per call,
    the message id as a native UUID where the database has the type (PostgreSQL),
    else as its 32 hex digits (SQLite, Django's UUIDField form). Message ids are
    time-ordered (UUID version 7), so the unique index on them grows at its end.
    """
    envelopes = list(envelopes)
    at = connection.ops.adapt_datetimefield_value(now)
    native_uuid = connection.features.has_native_uuid_field
    rows = []
    for envelope, message_id in zip(envelopes, time_ordered_uuids(len(envelopes)), strict=True):
        rows.append(
            (
                message_id,
                uuid.UUID(message_id) if native_uuid else message_id.replace("-", ""),
                envelope.to_json(),
                QueueMessage.STATE_READY,
                at,
                None,
                0,
                at,
                envelope.tenant_id,
                envelope.log_id,
                None,
            )
        )
    return rows
