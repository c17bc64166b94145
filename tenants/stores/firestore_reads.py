"""The Firestore store's reads: one record, several at once, a tenant's records by cursor.

A mixin of ``FirestoreLogStore`` (it uses the store's client, references and read
options). Listing pages with query cursors (``start_after``), never offsets; the
indexes the queries need are declared in ``tenants.stores.firestore_indexes``.
"""

from __future__ import annotations

from datetime import datetime

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from core.cursors import decode_cursor, encode_cursor
from core.records import (
    STATUSES,
    LogPage,
    LogRecord,
)
from tenants.stores.firestore_common import (
    LOGS,
    MAX_PAGE_SIZE,
    plain_datetime,
    unavailable_as_store_error,
)


class FirestoreReads:
    """Documents of ``tenants/{tenant_id}/processed_logs`` as ``LogRecord``s."""

    # -- reads --------------------------------------------------------------------

    @staticmethod
    def _to_record(data: dict) -> LogRecord:
        return LogRecord(
            tenant_id=data["tenant_id"],
            log_id=data["log_id"],
            source=data.get("source", ""),
            original_text=data.get("original_text", ""),
            modified_data=data.get("modified_data"),
            status=data.get("status", ""),
            attempts=int(data.get("attempts", 0)),
            last_error=data.get("last_error", ""),
            received_at=plain_datetime(data.get("received_at")),
            processed_at=plain_datetime(data.get("processed_at")),
            message_id=data.get("message_id", ""),
            request_id=data.get("request_id", ""),
            updated_at=plain_datetime(data.get("updated_at")),
            event_time=plain_datetime(data.get("event_time")),
            severity=data.get("severity", ""),
            attributes=dict(data.get("attributes") or {}),
            findings=dict(data.get("findings") or {}),
            policy_version=int(data.get("policy_version", 0)),
            expires_at=plain_datetime(data.get("expires_at")),
            original_text_expires_at=plain_datetime(data.get("original_text_expires_at")),
        )

    def get(self, tenant_id: str, log_id: str) -> LogRecord | None:
        """Concurrent reads from the worker's threads share one round trip (``get_many``)."""
        return self._get_together((tenant_id, log_id))

    @unavailable_as_store_error
    def get_many(self, keys: list[tuple[str, str]]) -> list[LogRecord | None]:
        """One BatchGetDocuments call for every key."""
        keys = list(keys)
        if not keys:
            return []
        refs = {key: self._log_ref(*key) for key in keys}
        found = {}
        for snapshot in self.client.get_all(list(refs.values()), **self._read_options()):
            if snapshot.exists:
                found[snapshot.reference.path] = self._to_record(snapshot.to_dict())
        return [found.get(refs[key].path) for key in keys]

    def logs_query(
        self,
        tenant_id: str,
        *,
        status: str | None = None,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
    ):
        """The query behind ``list_logs`` (its index needs are tested against ``firestore_indexes``)."""
        query = self._tenant(tenant_id).collection(LOGS)
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", status))
        if received_after is not None:
            query = query.where(filter=FieldFilter("received_at", ">=", received_after))
        if received_before is not None:
            query = query.where(filter=FieldFilter("received_at", "<", received_before))
        return query.order_by("received_at", direction=firestore.Query.DESCENDING).order_by(
            FieldPath.document_id(), direction=firestore.Query.DESCENDING
        )

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
        """Newest ``received_at`` first, ties by log id descending; pages by query cursor.

        With ``status`` this needs the composite index declared in ``firestore_indexes``.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        query = self.logs_query(
            tenant_id, status=status, received_after=received_after, received_before=received_before
        )
        if cursor:
            last_received_at, last_log_id = decode_cursor(cursor)
            query = query.start_after([last_received_at, last_log_id])
        snapshots = query.limit(limit + 1).get(**self._read_options())
        records = [self._to_record(snapshot.to_dict()) for snapshot in snapshots[:limit]]
        next_cursor = None
        if len(snapshots) > limit:
            last = records[-1]
            next_cursor = encode_cursor(last.received_at, last.log_id)
        return LogPage(records=records, next_cursor=next_cursor)
