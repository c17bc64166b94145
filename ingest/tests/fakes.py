"""Test doubles for the API tests, selected by dotted path in QUEUE_BACKEND / LOG_STORE_BACKEND."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import DataError

from core.envelope import LogEnvelope
from core.records import STATUSES, LogPage, LogRecord
from processing.queues.base import BaseQueue, QueueUnavailable
from tenants.stores.base import BaseLogStore, StoreUnavailable


class RecordingQueue(BaseQueue):
    """Keeps what was published, in order; the test inspects ``published``."""

    def __init__(self) -> None:
        self.published: list[LogEnvelope] = []
        self.publish_calls = 0
        self.publish_many_calls = 0

    def publish(self, envelope: LogEnvelope) -> str:
        self.publish_calls += 1
        LogEnvelope.from_json(envelope.to_json())  # what every real backend does to it
        self.published.append(envelope)
        return f"message-{len(self.published)}"

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        self.publish_many_calls += 1
        start = len(self.published)
        self.published.extend(envelopes)
        return [f"message-{number}" for number in range(start + 1, len(self.published) + 1)]

    def check(self) -> None:
        return None


class UnavailableQueue(RecordingQueue):
    """A broker that is down: every publish and check fails."""

    def publish(self, envelope: LogEnvelope) -> str:
        raise QueueUnavailable("broker down")

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        raise QueueUnavailable("broker down")

    def check(self) -> None:
        raise QueueUnavailable("broker down")


class BrokenQueue(RecordingQueue):
    """A backend failing in a way it does not classify (a bug or an odd driver error)."""

    def publish(self, envelope: LogEnvelope) -> str:
        raise RuntimeError("unexpected driver failure")

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        raise RuntimeError("unexpected driver failure")


class FakeStore(BaseLogStore):
    """Records in a dict; list_logs pages newest first with an index cursor."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], LogRecord] = {}

    def add(self, record: LogRecord) -> LogRecord:
        self.records[(record.tenant_id, record.log_id)] = record
        return record

    def get(self, tenant_id: str, log_id: str) -> LogRecord | None:
        return self.records.get((tenant_id, log_id))

    def list_logs(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> LogPage:
        if status is not None and status not in STATUSES:
            raise ValueError(status)
        rows = sorted(
            (r for r in self.records.values() if r.tenant_id == tenant_id and status in (None, r.status)),
            key=lambda r: (r.received_at, r.log_id),
            reverse=True,
        )
        start = int(cursor) if cursor else 0  # ValueError for a cursor it did not issue
        page = rows[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(rows) else None
        return LogPage(records=page, next_cursor=next_cursor)

    def check(self) -> None:
        return None


class UnavailableStore(FakeStore):
    def get(self, tenant_id: str, log_id: str) -> LogRecord | None:
        raise StoreUnavailable("store down")

    def list_logs(self, tenant_id: str, **kwargs) -> LogPage:
        raise StoreUnavailable("store down")

    def check(self) -> None:
        raise StoreUnavailable("store down")


class DataErrorStore(FakeStore):
    """A store whose database rejects the query's parameters (a forged cursor)."""

    def list_logs(self, tenant_id: str, **kwargs) -> LogPage:
        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
