"""A log store in a dict of this process (``LOG_STORE_BACKEND=memory``): tests and experiments.

It keeps the store contract to the letter (idempotent writes, keyset pages with
the shared cursor codec, counts, activity) and passes the same contract suite as
the database and Firestore stores, so a test that runs against it learns what the
real ones would do. Nothing survives the process. ``unavailable`` switches it
"down" (every call raises ``StoreUnavailable``), the way a store outage looks to
its callers.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from django.utils import timezone

from core.cursors import decode_cursor, encode_cursor, parse_received_at
from core.envelope import LogEnvelope
from core.records import (
    KEEP_FOREVER,
    STATUS_DEAD_LETTERED,
    STATUS_PROCESSED,
    STATUS_RETRYING,
    STATUSES,
    ActivityBucket,
    LogPage,
    LogRecord,
    ProcessedLog,
    Retention,
    TenantSummary,
    event_time_of,
)
from tenants.stores.base import LIFECYCLE_BATCH, BaseLogStore, SearchPage, StoreUnavailable

MAX_PAGE_SIZE = 500


class MemoryLogStore(BaseLogStore):
    """Records keyed by ``(tenant_id, log_id)`` behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[tuple[str, str], LogRecord] = {}
        self.unavailable = False

    def _check_up(self) -> None:
        if self.unavailable:
            raise StoreUnavailable("memory log store switched unavailable")

    def load(self, records: Iterable[LogRecord]) -> None:
        """Put records in as they are (test fixtures, demos), replacing any with the same key."""
        with self._lock:
            for record in records:
                self._records[(record.tenant_id, record.log_id)] = dataclasses.replace(record)

    # -- writes ---------------------------------------------------------------------

    @staticmethod
    def _new_record(envelope: LogEnvelope, message_id: str, status: str, retention: Retention) -> LogRecord:
        return LogRecord(
            tenant_id=envelope.tenant_id,
            log_id=envelope.log_id,
            source=envelope.source,
            original_text=envelope.text if retention.keep_original else "",
            modified_data=None,
            status=status,
            attempts=0,
            last_error="",
            received_at=parse_received_at(envelope.received_at),
            processed_at=None,
            message_id=message_id,
            request_id=envelope.request_id,
            event_time=event_time_of(envelope),
            severity=envelope.severity,
            attributes=dict(envelope.attributes),
            expires_at=retention.expires_at,
            original_text_expires_at=retention.original_text_expires_at if retention.keep_original else None,
        )

    def save_results(self, results: list[ProcessedLog]) -> list[bool]:
        self._check_up()
        saved = []
        with self._lock:
            for result in results:
                envelope = result.envelope
                key = (envelope.tenant_id, envelope.log_id)
                record = self._records.get(key)
                if record is not None and record.status == STATUS_PROCESSED:
                    saved.append(False)
                    continue
                if record is None:
                    record = self._new_record(envelope, result.message_id, STATUS_PROCESSED, result.retention)
                # The text stored is the one this result was worked from (a client may
                # have sent the log id again, with other text, while it was retrying).
                record.source = envelope.source
                record.original_text = envelope.text if result.retention.keep_original else ""
                record.modified_data = result.modified_data
                record.attributes = dict(
                    envelope.attributes if result.attributes is None else result.attributes
                )
                record.findings = dict(result.findings)
                record.policy_version = result.policy_version
                record.status = STATUS_PROCESSED
                record.attempts += 1
                record.processed_at = result.processed_at
                record.message_id = result.message_id
                record.updated_at = timezone.now()
                self._records[key] = record
                saved.append(True)
        return saved

    def record_failure(
        self, envelope: LogEnvelope, *, error: str, message_id: str, retention: Retention = KEEP_FOREVER
    ) -> int:
        self._check_up()
        with self._lock:
            key = (envelope.tenant_id, envelope.log_id)
            record = self._records.get(key) or self._new_record(
                envelope, message_id, STATUS_RETRYING, retention
            )
            if record.status != STATUS_PROCESSED:
                record.status = STATUS_RETRYING
                record.attempts += 1
                record.last_error = error
                record.message_id = message_id
                record.updated_at = timezone.now()
            self._records[key] = record
            return record.attempts

    def mark_dead_lettered(self, tenant_id: str, log_id: str) -> None:
        self._set_status(
            tenant_id, log_id, STATUS_DEAD_LETTERED, when=(STATUS_RETRYING, STATUS_DEAD_LETTERED)
        )

    def mark_replayed(self, tenant_id: str, log_id: str) -> None:
        self._set_status(
            tenant_id, log_id, STATUS_RETRYING, when=(STATUS_RETRYING, STATUS_DEAD_LETTERED), attempts=0
        )

    def _set_status(self, tenant_id: str, log_id: str, status: str, *, when: tuple, **changes) -> None:
        self._check_up()
        with self._lock:
            record = self._records.get((tenant_id, log_id))
            if record is not None and record.status in when:
                record.status = status
                record.updated_at = timezone.now()
                for name, value in changes.items():
                    setattr(record, name, value)

    # -- reads ----------------------------------------------------------------------

    def get(self, tenant_id: str, log_id: str) -> LogRecord | None:
        return self.get_many([(tenant_id, log_id)])[0]

    def get_many(self, keys: list[tuple[str, str]]) -> list[LogRecord | None]:
        self._check_up()
        with self._lock:
            found = [self._records.get(key) for key in keys]
            return [dataclasses.replace(record) if record else None for record in found]

    def _tenant_records(self, tenant_id: str | None = None) -> list[LogRecord]:
        with self._lock:
            return [
                dataclasses.replace(record)
                for (owner, _), record in self._records.items()
                if tenant_id is None or owner == tenant_id
            ]

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
        self._check_up()
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        position = decode_cursor(cursor) if cursor else None
        records = sorted(
            (
                record
                for record in self._tenant_records(tenant_id)
                if (status is None or record.status == status)
                and (received_after is None or record.received_at >= received_after)
                and (received_before is None or record.received_at < received_before)
                and (position is None or (record.received_at, record.log_id) < position)
            ),
            key=lambda record: (record.received_at, record.log_id),
            reverse=True,
        )
        page = records[:limit]
        next_cursor = None
        if len(records) > limit:
            next_cursor = encode_cursor(page[-1].received_at, page[-1].log_id)
        return LogPage(records=page, next_cursor=next_cursor)

    def counts(self, tenant_id: str) -> dict[str, int]:
        self._check_up()
        counts = dict.fromkeys(STATUSES, 0)
        for record in self._tenant_records(tenant_id):
            counts[record.status] += 1
        return counts

    def list_tenants(self) -> list[TenantSummary]:
        self._check_up()
        summaries: dict[str, TenantSummary] = {}
        for record in self._tenant_records():
            summary = summaries.setdefault(
                record.tenant_id, TenantSummary(record.tenant_id, dict.fromkeys(STATUSES, 0))
            )
            summary.counts[record.status] += 1
            activity = record.updated_at or record.processed_at or record.received_at
            if summary.last_activity is None or activity > summary.last_activity:
                summary.last_activity = activity
        return [summaries[tenant_id] for tenant_id in sorted(summaries)]

    def activity(self, tenant_ids: list[str] | None, since: datetime) -> list[ActivityBucket]:
        self._check_up()
        wanted = None if tenant_ids is None else set(tenant_ids)
        per_minute: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
        for record in self._tenant_records():
            if wanted is not None and record.tenant_id not in wanted:
                continue
            if record.received_at >= since:
                per_minute[_minute(record.received_at)][0] += 1
            if record.processed_at is not None and record.processed_at >= since:
                per_minute[_minute(record.processed_at)][1] += 1
        return [
            ActivityBucket(minute=minute, received=received, processed=processed)
            for minute, (received, processed) in sorted(per_minute.items())
        ]

    def check(self) -> None:
        self._check_up()

    # -- re-scrub (redaction policy) --------------------------------------------------

    def save_rescrubbed(
        self,
        tenant_id: str,
        log_id: str,
        *,
        modified_data: str,
        attributes: dict,
        findings: dict,
        policy_version: int,
    ) -> bool:
        self._check_up()
        with self._lock:
            record = self._records.get((tenant_id, log_id))
            if record is None or record.status != STATUS_PROCESSED or record.policy_version >= policy_version:
                return False
            record.modified_data = modified_data
            record.attributes = dict(attributes)
            record.findings = dict(findings)
            record.policy_version = policy_version
            record.updated_at = timezone.now()
            return True

    # -- data lifecycle: retention sweep, erasure, export, search ---------------------

    def _remove_where(self, wanted, limit: int) -> int:
        self._check_up()
        with self._lock:
            keys = [key for key, record in self._records.items() if wanted(record)][: max(0, int(limit))]
            for key in keys:
                del self._records[key]
            return len(keys)

    def delete_expired(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        return self._remove_where(
            lambda record: record.expires_at is not None and record.expires_at <= now, limit
        )

    def clear_expired_original_text(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        self._check_up()
        with self._lock:
            due = [
                record
                for record in self._records.values()
                if record.original_text_expires_at is not None and record.original_text_expires_at <= now
            ][: max(0, int(limit))]
            for record in due:
                record.original_text = ""
                record.original_text_expires_at = None
            return len(due)

    def delete_log(self, tenant_id: str, log_id: str) -> bool:
        self._check_up()
        with self._lock:
            return self._records.pop((tenant_id, log_id), None) is not None

    def erase_logs(
        self,
        tenant_id: str,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = LIFECYCLE_BATCH,
    ) -> int:
        return self._remove_where(
            lambda record: (
                record.tenant_id == tenant_id
                and (received_after is None or record.received_at >= received_after)
                and (received_before is None or record.received_at < received_before)
            ),
            limit,
        )

    def search_logs(
        self,
        tenant_id: str,
        text: str,
        *,
        status: str | None = None,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SearchPage:
        """Scans the tenant's records: a dict has no index (tests and experiments only)."""
        self._check_up()
        needle = text.casefold()
        matching = [
            record
            for record in self._tenant_records(tenant_id)
            if needle in (record.modified_data or "").casefold()
        ]
        # list_logs' filters, order and cursors, over the matching records alone.
        matches = MemoryLogStore()
        matches.load(matching)
        page = matches.list_logs(
            tenant_id,
            status=status,
            received_after=received_after,
            received_before=received_before,
            limit=limit,
            cursor=cursor,
        )
        return SearchPage(records=page.records, next_cursor=page.next_cursor)


def _minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)
