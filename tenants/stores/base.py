"""The log-store contract every backend implements.

One record per ``(tenant_id, log_id)``: the Firestore document
``tenants/{tenant_id}/processed_logs/{log_id}`` or a row in the database store,
with the same fields. Writes are idempotent so an at-least-once queue gives an
exactly-once effect: once a record is ``processed`` nothing the worker does to it
later (a redelivery, a late failure) changes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from core.envelope import LogEnvelope
from core.records import (
    KEEP_FOREVER,
    ActivityBucket,
    LogPage,
    LogRecord,
    ProcessedLog,
    Retention,
    TenantSummary,
)


class StoreUnavailable(Exception):
    """The store cannot be read or written right now; try again later."""


# -- data lifecycle: what the retention, erasure and search methods hand back ---------

# Records one call of a batched lifecycle method (sweep, erasure) handles at most.
LIFECYCLE_BATCH = 500
# Records ``iter_logs`` reads per page (the export): memory stays bounded by it.
EXPORT_PAGE_SIZE = 500


@dataclass(frozen=True)
class SearchBound:
    """How far a search that can only scan looked for one page (Firestore: no text index).

    It read ``scanned`` records (at most ``max_scanned``) received in
    ``[received_after, received_before)`` (``received_before`` None: up to now).
    """

    received_after: datetime
    received_before: datetime | None
    max_scanned: int
    scanned: int


@dataclass
class SearchPage:
    """One page of a text search; ``bound`` is set when the backend scanned within a bound."""

    records: list[LogRecord]
    # Opaque, as for ``list_logs``: the next (older) page; None once nothing is left.
    next_cursor: str | None
    bound: SearchBound | None = None


class BaseLogStore:
    """Subclasses implement every method; the console and the worker use only these."""

    # The Django database alias whose transactions this store's writes join (None:
    # not a database); see ``BaseQueue.database_alias``.
    database_alias: str | None = None

    def save_result(
        self,
        envelope: LogEnvelope,
        *,
        modified_data: str,
        message_id: str,
        processed_at: datetime,
        findings: dict | None = None,
        policy_version: int = 0,
        attributes: dict | None = None,
        retention: Retention = KEEP_FOREVER,
    ) -> bool:
        """Store the processed log; False (and no change) if it was processed already.

        ``attempts`` becomes the attempts so far, this successful one included. The
        record holds the envelope's text as ``original_text`` (unless ``retention``
        says not to keep it) and its event time and severity; ``attributes`` (the
        redacted ones; None: the envelope's), ``findings`` and ``policy_version``
        come from the work; ``retention`` sets the expiry timestamps.
        """
        return self.save_processed(
            ProcessedLog(
                envelope,
                modified_data,
                message_id,
                processed_at,
                findings or {},
                policy_version,
                attributes,
                retention,
            )
        )

    def save_processed(self, result: ProcessedLog) -> bool:
        """One ``save_result``; backends that share one write among concurrent callers override this."""
        return self.save_results([result])[0]

    def save_results(self, results: list[ProcessedLog]) -> list[bool]:
        """``save_result`` for each of ``results``, in order, in one transaction or commit where it can.

        Each result is still idempotent on its own (False for a log processed already).
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide a save_results() method")

    def record_failure(
        self, envelope: LogEnvelope, *, error: str, message_id: str, retention: Retention = KEEP_FOREVER
    ) -> int:
        """Count one failed attempt (status ``retrying``) and return the attempts so far.

        A processed record is left as it is (its attempts are returned). A new record
        gets ``retention``'s expiry timestamps.
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide a record_failure() method")

    def mark_dead_lettered(self, tenant_id: str, log_id: str) -> None:
        """Mark a record that exhausted its attempts; a processed one is left alone."""
        raise NotImplementedError("subclasses of BaseLogStore must provide a mark_dead_lettered() method")

    def mark_replayed(self, tenant_id: str, log_id: str) -> None:
        """A dead-lettered or retrying record goes back to the queue: status ``retrying``, attempts 0."""
        raise NotImplementedError("subclasses of BaseLogStore must provide a mark_replayed() method")

    def get(self, tenant_id: str, log_id: str) -> LogRecord | None:
        raise NotImplementedError("subclasses of BaseLogStore must provide a get() method")

    def get_many(self, keys: list[tuple[str, str]]) -> list[LogRecord | None]:
        """``get`` for each ``(tenant_id, log_id)`` in ``keys``, in order (one read where the backend can)."""
        return [self.get(tenant_id, log_id) for tenant_id, log_id in keys]

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
        """One tenant's records, newest ``received_at`` first (ties: ``log_id`` descending), by cursor.

        ``received_after`` is inclusive, ``received_before`` exclusive; ``limit`` is
        capped by the backend. ValueError for a cursor the store did not issue or an
        unknown status (a client error, not an outage).
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide a list_logs() method")

    def counts(self, tenant_id: str) -> dict[str, int]:
        """Records per status (every status present, zero included), from counters, not scans."""
        raise NotImplementedError("subclasses of BaseLogStore must provide a counts() method")

    def list_tenants(self) -> list[TenantSummary]:
        """Every tenant with at least one record, with counts and last activity."""
        raise NotImplementedError("subclasses of BaseLogStore must provide a list_tenants() method")

    def activity(self, tenant_ids: list[str] | None, since: datetime) -> list[ActivityBucket]:
        """Logs received and processed per minute since ``since`` (None: every tenant).

        Only minutes with activity, oldest first, as aware UTC datetimes.
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide an activity() method")

    def check(self) -> None:
        """Raise StoreUnavailable unless the store answers now (readiness probe)."""
        raise NotImplementedError("subclasses of BaseLogStore must provide a check() method")

    def close(self) -> None:
        """Release clients and connections held by this backend."""

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
        """Replace a processed record's redacted text, attributes and findings after a re-scrub.

        Only a ``processed`` record whose ``policy_version`` is lower than
        ``policy_version`` changes (versions only grow), so a re-scrub run twice, or
        an older run finishing after a newer one, changes nothing; True when it
        changed. Status, attempts, the original text, ``processed_at`` and
        ``message_id`` stay as they are; ``updated_at`` moves.
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide a save_rescrubbed() method")

    # -- data lifecycle: retention sweep, erasure, export, search ---------------------

    def delete_expired(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        """Delete up to ``limit`` records (any tenant) whose ``expires_at`` is at or before ``now``.

        Returns how many; 0 once none is left, so a sweep calls it until 0. Counts
        and activity follow the deletions. Firestore deletes expired records by
        its TTL policy instead (see ``FirestoreLogStore.delete_expired``).
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide a delete_expired() method")

    def clear_expired_original_text(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        """Blank the original text of up to ``limit`` records whose ``original_text_expires_at`` passed.

        The record stays (redacted text, status, counts); its ``original_text``
        becomes "" and ``original_text_expires_at`` None. Returns how many; 0 once
        none is left.
        """
        raise NotImplementedError(
            "subclasses of BaseLogStore must provide a clear_expired_original_text() method"
        )

    def delete_log(self, tenant_id: str, log_id: str) -> bool:
        """Erase one record; False when the tenant has no such record. Counts and activity follow."""
        raise NotImplementedError("subclasses of BaseLogStore must provide a delete_log() method")

    def erase_logs(
        self,
        tenant_id: str,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = LIFECYCLE_BATCH,
    ) -> int:
        """Erase up to ``limit`` of the tenant's records received in ``[received_after, received_before)``.

        No bounds: every record of the tenant. Returns how many; 0 once none is
        left, so an erasure calls it until 0 and a killed one is resumed by
        calling it again. Counts and activity follow.
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide an erase_logs() method")

    def iter_logs(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        page_size: int = EXPORT_PAGE_SIZE,
    ) -> Iterator[LogRecord]:
        """Every matching record, in ``list_logs`` order, read page by page (the export).

        At most one page is held at a time, whatever the number of records.
        ValueError for an unknown status, before anything is read.
        """
        cursor = None
        while True:
            page = self.list_logs(
                tenant_id,
                status=status,
                received_after=received_after,
                received_before=received_before,
                limit=page_size,
                cursor=cursor,
            )
            yield from page.records
            cursor = page.next_cursor
            if cursor is None:
                return

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
        """The tenant's records whose redacted text contains ``text`` (case-insensitive), by cursor.

        Never matches the original text. Same order, filters, cursors and errors
        as ``list_logs``. A backend without a text index scans within a bound and
        says so in ``SearchPage.bound``.
        """
        raise NotImplementedError("subclasses of BaseLogStore must provide a search_logs() method")

    def recount(self, tenant_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
        """Correct counters that drifted from the records; returns the corrections, by tenant.

        Only a backend whose counters can drift has any (Firestore: its TTL policy
        deletes records without touching counters); one that counts the records
        themselves returns {}. None: every tenant.
        """
        return {}
