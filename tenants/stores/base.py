"""The log-store contract every backend implements.

One record per ``(tenant_id, log_id)``: the Firestore document
``tenants/{tenant_id}/processed_logs/{log_id}`` or a row in the database store,
with the same fields. Writes are idempotent so an at-least-once queue gives an
exactly-once effect: once a record is ``processed`` nothing the worker does to it
later (a redelivery, a late failure) changes it.
"""

from __future__ import annotations

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


class BaseLogStore:
    """Subclasses implement every method; the console and the worker use only these."""

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
