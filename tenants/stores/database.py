"""The log store on the Django database: one ``StoredLog`` row per ``(tenant_id, log_id)``.

Every write is a single conditional ``UPDATE`` (or an ``INSERT`` guarded by the
unique constraint), so concurrent workers cannot lose an attempt and a processed
record is never rewritten, on SQLite and PostgreSQL alike, without holding row
locks across Python code. Database errors that mean "the database is not there
right now" become ``StoreUnavailable``: the worker then retries the message later
without counting an attempt against the log.
"""

from __future__ import annotations

import functools
import logging
import operator
from datetime import UTC, datetime

from django.db import (
    DatabaseError,
    IntegrityError,
    connections,
)
from django.db.models import Count, F, Max, Q
from django.db.models.functions import TruncMinute
from django.utils import timezone

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
)
from dataproc_site.coalescing import Coalescer
from dataproc_site.transactions import write_transaction
from tenants.models import StoredLog
from tenants.stores.base import BaseLogStore, StoreUnavailable
from tenants.stores.database_insert import insert_new_rows
from tenants.stores.database_lifecycle import DatabaseLifecycle
from tenants.stores.database_rows import (
    MAX_WRITE_ROUNDS,
    bounded,
    close_if_broken,
    new_row_fields,
    newest_first_page,
    record_of,
    unavailable_as_store_error,
)

logger = logging.getLogger(__name__)


class DatabaseLogStore(DatabaseLifecycle, BaseLogStore):
    """``BaseLogStore`` on the ``StoredLog`` table of one Django database."""

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self.database_alias = using
        # The worker's threads share one query for their reads and one transaction for
        # their results; see dataproc_site.coalescing.
        self._get_together = Coalescer(self.get_many, shared_errors=(StoreUnavailable,))
        self._save_together = Coalescer(self.save_results, shared_errors=(StoreUnavailable,))

    # -- writes ---------------------------------------------------------------------

    def _objects(self):
        """Every query of this store starts here."""
        return StoredLog.objects.using(self.using)

    def _insert_new_rows(self, rows: list[dict]) -> None:
        """Every insert of new records that bypasses ``_objects`` goes through here."""
        insert_new_rows(self.using, rows)

    def _rows(self, tenant_id: str, log_id: str):
        return self._objects().filter(tenant_id=tenant_id, log_id=log_id)

    def _insert(self, **fields) -> bool:
        """Insert a new row; False when another writer created it first."""
        try:
            with write_transaction(using=self.using):
                self._objects().create(**fields)
        except IntegrityError:
            return False
        return True

    def save_processed(self, result: ProcessedLog) -> bool:
        """Concurrent calls from the worker's threads share one transaction (``save_results``)."""
        if connections[self.using].in_atomic_block:
            # The caller's transaction decides; it must not commit other threads' rows.
            return self.save_results([result])[0]
        return self._save_together(result)

    @unavailable_as_store_error
    def save_results(self, results: list[ProcessedLog]) -> list[bool]:
        """Insert every result in one transaction; any row that exists already goes one by one.

        Most logs succeed at their first attempt, when no row exists yet: the
        insert comes first, so that case is one statement for the whole batch
        instead of an update that matches nothing, a read and an insert per log.
        A row that exists (a retried log, a redelivery) fails the insert on the
        unique constraint, and the batch is then saved result by result.
        """
        rows = [self._processed_row(result) for result in results]
        try:
            with write_transaction(using=self.using):
                self._insert_new_rows(rows)
        except IntegrityError:
            return [self._save_one(result) for result in results]
        return [True] * len(rows)

    @staticmethod
    def _processed_row(result: ProcessedLog) -> dict:
        return {
            **new_row_fields(result.envelope, result.retention),
            **DatabaseLogStore._result_fields(result),
            "status": STATUS_PROCESSED,
            "attempts": 1,
            "last_error": "",
        }

    @staticmethod
    def _result_fields(result: ProcessedLog) -> dict:
        """What a successful attempt writes, over a new or an unprocessed record alike.

        The text is the one this result was worked from: a client may have sent the
        log id again, with other text, while the record was retrying, and the
        original and redacted texts must come from the same upload.
        """
        envelope = result.envelope
        return {
            "source": bounded(envelope.source, "source"),
            "original_text": envelope.text if result.retention.keep_original else "",
            "modified_data": result.modified_data,
            "processed_at": result.processed_at,
            "message_id": bounded(result.message_id, "message_id"),
            "attributes": dict(envelope.attributes if result.attributes is None else result.attributes),
            "findings": dict(result.findings),
            "policy_version": result.policy_version,
        }

    def _save_one(self, result: ProcessedLog) -> bool:
        """Insert, or turn the existing unprocessed row into a processed one (conditional update)."""
        envelope = result.envelope
        new_row = self._processed_row(result)
        if self._insert(**new_row):
            return True
        for _ in range(MAX_WRITE_ROUNDS):
            updated = (
                self._rows(envelope.tenant_id, envelope.log_id)
                .exclude(status=STATUS_PROCESSED)
                .update(
                    **self._result_fields(result),
                    status=STATUS_PROCESSED,
                    attempts=F("attempts") + 1,
                    updated_at=timezone.now(),
                )
            )
            if updated:
                return True
            current_status = (
                self._rows(envelope.tenant_id, envelope.log_id).values_list("status", flat=True).first()
            )
            if current_status == STATUS_PROCESSED:
                return False  # processed already: nothing changes
            if current_status is not None:
                continue  # another worker inserted it meanwhile: update it
            if self._insert(**new_row):
                return True  # the row was deleted meanwhile (nothing does that today)
        raise StoreUnavailable(f"could not save {envelope.tenant_id}/{envelope.log_id}: row keeps changing")

    @unavailable_as_store_error
    def record_failure(
        self, envelope: LogEnvelope, *, error: str, message_id: str, retention: Retention = KEEP_FOREVER
    ) -> int:
        for _ in range(MAX_WRITE_ROUNDS):
            # The increment happens in SQL and the read-back in the same transaction,
            # which holds the row's write lock: each caller sees its own count.
            with write_transaction(using=self.using):
                rows = self._rows(envelope.tenant_id, envelope.log_id)
                updated = rows.exclude(status=STATUS_PROCESSED).update(
                    status=STATUS_RETRYING,
                    attempts=F("attempts") + 1,
                    last_error=error,
                    message_id=bounded(message_id, "message_id"),
                    updated_at=timezone.now(),
                )
                current = rows.values_list("status", "attempts").first()
            if current is not None:
                status, attempts = current
                if updated:
                    return attempts
                if status == STATUS_PROCESSED:
                    logger.info(
                        "late failure ignored for a processed log",
                        extra={"tenant_id": envelope.tenant_id, "log_id": envelope.log_id},
                    )
                    return attempts
                continue  # another worker inserted it after our update looked: count again
            inserted = self._insert(
                **new_row_fields(envelope, retention),
                modified_data=None,
                status=STATUS_RETRYING,
                attempts=1,
                last_error=error,
                processed_at=None,
                message_id=bounded(message_id, "message_id"),
            )
            if inserted:
                return 1
        raise StoreUnavailable(
            f"could not record a failure for {envelope.tenant_id}/{envelope.log_id}: row keeps changing"
        )

    @unavailable_as_store_error
    def mark_dead_lettered(self, tenant_id: str, log_id: str) -> None:
        with write_transaction(using=self.using):
            updated = (
                self._rows(tenant_id, log_id)
                .exclude(status=STATUS_PROCESSED)
                .update(status=STATUS_DEAD_LETTERED, updated_at=timezone.now())
            )
        if not updated:
            logger.info(
                "dead-letter mark skipped: no unprocessed record",
                extra={"tenant_id": tenant_id, "log_id": log_id},
            )

    @unavailable_as_store_error
    def mark_replayed(self, tenant_id: str, log_id: str) -> None:
        with write_transaction(using=self.using):
            self._rows(tenant_id, log_id).filter(status__in=(STATUS_DEAD_LETTERED, STATUS_RETRYING)).update(
                status=STATUS_RETRYING, attempts=0, updated_at=timezone.now()
            )

    # -- reads ----------------------------------------------------------------------

    def get(self, tenant_id: str, log_id: str) -> LogRecord | None:
        """Concurrent reads from the worker's threads share one query (``get_many``)."""
        if connections[self.using].in_atomic_block:
            return self.get_many([(tenant_id, log_id)])[0]
        return self._get_together((tenant_id, log_id))

    @unavailable_as_store_error
    def get_many(self, keys: list[tuple[str, str]]) -> list[LogRecord | None]:
        """One query for every key (each pair uses the unique index)."""
        if not keys:
            return []
        wanted = functools.reduce(
            operator.or_, (Q(tenant_id=tenant_id, log_id=log_id) for tenant_id, log_id in set(keys))
        )
        rows = {(row.tenant_id, row.log_id): row for row in self._objects().filter(wanted)}
        return [record_of(rows[key]) if key in rows else None for key in keys]

    @unavailable_as_store_error
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
        """Keyset pagination on ``(received_at, log_id)``, newest first (``newest_first_page``)."""
        records, next_cursor = newest_first_page(
            self._objects().filter(tenant_id=tenant_id),
            status=status,
            received_after=received_after,
            received_before=received_before,
            limit=limit,
            cursor=cursor,
        )
        return LogPage(records=records, next_cursor=next_cursor)

    @unavailable_as_store_error
    def counts(self, tenant_id: str) -> dict[str, int]:
        """One GROUP BY on the (tenant_id, status, ...) index."""
        counts = dict.fromkeys(STATUSES, 0)
        grouped = (
            self._objects()
            .filter(tenant_id=tenant_id)
            .order_by()
            .values_list("status")
            .annotate(total=Count("id"))
        )
        for status, total in grouped:
            counts[status] = total
        return counts

    @unavailable_as_store_error
    def list_tenants(self) -> list[TenantSummary]:
        """Every tenant with records, from one GROUP BY (tenant_id, status) query."""
        summaries: dict[str, TenantSummary] = {}
        grouped = (
            self._objects()
            .order_by()
            .values_list("tenant_id", "status")
            .annotate(total=Count("id"), last_activity=Max("updated_at"))
        )
        for tenant_id, status, total, last_activity in grouped:
            summary = summaries.setdefault(tenant_id, TenantSummary(tenant_id, dict.fromkeys(STATUSES, 0)))
            summary.counts[status] = total
            if summary.last_activity is None or (last_activity and last_activity > summary.last_activity):
                summary.last_activity = last_activity
        return [summaries[tenant_id] for tenant_id in sorted(summaries)]

    @unavailable_as_store_error
    def activity(self, tenant_ids: list[str] | None, since: datetime) -> list[ActivityBucket]:
        """Minutes (UTC, ascending) in which something was received or processed.

        Minutes with neither are left out; a chart fills them with zeros.
        """
        rows = self._objects().order_by()
        if tenant_ids is not None:
            if not tenant_ids:
                return []
            rows = rows.filter(tenant_id__in=tenant_ids)
        received = (
            rows.filter(received_at__gte=since)
            .annotate(minute=TruncMinute("received_at", tzinfo=UTC))
            .values_list("minute")
            .annotate(total=Count("id"))
        )
        processed = (
            rows.filter(processed_at__gte=since)
            .annotate(minute=TruncMinute("processed_at", tzinfo=UTC))
            .values_list("minute")
            .annotate(total=Count("id"))
        )
        per_minute: dict[datetime, list[int]] = {}
        for minute, total in received:
            per_minute.setdefault(minute, [0, 0])[0] = total
        for minute, total in processed:
            per_minute.setdefault(minute, [0, 0])[1] = total
        return [
            ActivityBucket(minute=minute, received=counts[0], processed=counts[1])
            for minute, counts in sorted(per_minute.items())
        ]

    def check(self) -> None:
        """Read the log table: fails when the database is down and when it lacks the table."""
        try:
            self._objects().order_by().exists()
        except DatabaseError as exc:
            close_if_broken(self.using)
            raise StoreUnavailable(f"log store database unavailable: {exc}") from exc

    def close(self) -> None:
        """Connections belong to Django (one per thread); nothing to release here."""

    # -- re-scrub (redaction policy) --------------------------------------------------

    @unavailable_as_store_error
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
        """One conditional UPDATE: processed, and scrubbed under an older version."""
        updated = (
            self._rows(tenant_id, log_id)
            .filter(status=STATUS_PROCESSED, policy_version__lt=policy_version)
            .update(
                modified_data=modified_data,
                attributes=dict(attributes),
                findings=dict(findings),
                policy_version=policy_version,
                updated_at=timezone.now(),
            )
        )
        return updated == 1
