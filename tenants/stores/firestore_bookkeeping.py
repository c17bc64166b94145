"""The bookkeeping beside Firestore records: per-tenant counters and per-minute activity.

``tenants/{tenant_id}/counters/{shard}`` holds records per status and the last
activity, spread over a few shards so a busy tenant does not queue on one
document; ``tenants/{tenant_id}/activity/{YYYYMMDDHHMM}-{shard}`` the logs
received and processed per minute, for the console's chart. Every record write
adds its increments to the same commit (``_add_bookkeeping``), so the counts never
drift from the records; the console reads a handful of documents, never a scan.

A mixin of ``FirestoreLogStore``: it uses the store's client, tenant references
and read options.
"""

from __future__ import annotations

import collections
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from core.records import STATUSES, ActivityBucket, TenantSummary
from tenants.stores.firestore_common import (
    ACTIVITY,
    COUNTERS,
    TENANTS,
    minute_of,
    plain_datetime,
    unavailable_as_store_error,
)


@dataclass
class Change:
    """What one write does: the record's new fields, the counters it moves, what it returns."""

    result: Any
    fields: dict | None = None  # None: nothing to write
    create: bool = False
    status_deltas: dict[str, int] = field(default_factory=dict)
    received_minute: datetime | None = None
    processed_minute: datetime | None = None


class FirestoreBookkeeping:
    """Counters and activity of a tenant's records, written with them and read for the console."""

    # Counter and activity documents per tenant (and minute); a busy tenant's writes spread over them.
    counter_shards = 8
    # How long a process trusts that a tenant's parent document exists.
    parent_refresh_seconds = 600.0

    def _add_bookkeeping(self, batch, tenant_id: str, changes: list[Change]) -> bool:
        """Parent document, counters and activity of one tenant's changes: in the same commit.

        Several changes of one tenant add up into one counter shard and one activity
        document per minute (a commit may write each document once). Returns whether
        the parent document is among the writes.
        """
        tenant_ref = self._tenant(tenant_id)
        now = datetime.now(UTC)
        written_at = self._known_tenants.get(tenant_id)
        parent_written = written_at is None or time.monotonic() - written_at > self.parent_refresh_seconds
        if parent_written:
            batch.set(tenant_ref, {"tenant_id": tenant_id}, merge=True)
        status_deltas: collections.Counter[str] = collections.Counter()
        per_minute: dict[datetime, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for change in changes:
            status_deltas.update(change.status_deltas)
            if change.received_minute is not None:
                per_minute[change.received_minute]["received"] += 1
            if change.processed_minute is not None:
                per_minute[change.processed_minute]["processed"] += 1
        shard = str(random.randrange(self.counter_shards))  # noqa: S311
        counter_fields: dict[str, Any] = {"last_activity": now}
        for status, delta in status_deltas.items():
            if delta:
                counter_fields[status] = firestore.Increment(delta)
        batch.set(tenant_ref.collection(COUNTERS).document(shard), counter_fields, merge=True)
        for minute, increments in per_minute.items():
            activity_ref = tenant_ref.collection(ACTIVITY).document(f"{minute:%Y%m%d%H%M}-{shard}")
            activity_fields: dict[str, Any] = {"tenant_id": tenant_id, "minute": minute}
            activity_fields.update({name: firestore.Increment(count) for name, count in increments.items()})
            batch.set(activity_ref, activity_fields, merge=True)
        return parent_written

    @staticmethod
    def _moved(old_status: str | None, new_status: str) -> dict[str, int]:
        if old_status == new_status:
            return {}
        deltas = {new_status: 1}
        if old_status is not None:
            deltas[old_status] = -1
        return deltas

    def activity_query(self, tenant_id: str | None, since_minute: datetime):
        """One tenant's per-minute documents, or (None) every tenant's: a collection-group query."""
        if tenant_id is None:
            collection = self.client.collection_group(ACTIVITY)
        else:
            collection = self._tenant(tenant_id).collection(ACTIVITY)
        return collection.where(filter=FieldFilter("minute", ">=", since_minute))

    def _counter_refs(self, tenant_id: str) -> list:
        counters = self._tenant(tenant_id).collection(COUNTERS)
        return [counters.document(str(shard)) for shard in range(self.counter_shards)]

    def _summaries(self, tenant_ids: list[str]) -> dict[str, TenantSummary]:
        summaries = {
            tenant_id: TenantSummary(tenant_id, dict.fromkeys(STATUSES, 0)) for tenant_id in tenant_ids
        }
        refs = [ref for tenant_id in tenant_ids for ref in self._counter_refs(tenant_id)]
        if not refs:
            return summaries
        for snapshot in self.client.get_all(refs, **self._read_options()):
            if not snapshot.exists:
                continue
            summary = summaries[snapshot.reference.parent.parent.id]
            data = snapshot.to_dict()
            for status in STATUSES:
                summary.counts[status] += int(data.get(status, 0))
            last_activity = plain_datetime(data.get("last_activity"))
            if last_activity and (summary.last_activity is None or last_activity > summary.last_activity):
                summary.last_activity = last_activity
        return summaries

    @unavailable_as_store_error
    def counts(self, tenant_id: str) -> dict[str, int]:
        """Summed from the tenant's counter shards: a few document reads, never a scan."""
        return self._summaries([tenant_id])[tenant_id].counts

    @unavailable_as_store_error
    def list_tenants(self) -> list[TenantSummary]:
        tenant_ids = sorted(
            snapshot.id for snapshot in self.client.collection(TENANTS).select([]).get(**self._read_options())
        )
        summaries = self._summaries(tenant_ids)
        return [summaries[tenant_id] for tenant_id in tenant_ids]

    @unavailable_as_store_error
    def activity(self, tenant_ids: list[str] | None, since: datetime) -> list[ActivityBucket]:
        """Per-minute counter documents from the minute of ``since`` on (minutes are the granularity).

        Every tenant: one collection-group query (index in ``firestore_indexes``);
        named tenants: one small query each.
        """
        first_minute = minute_of(since)
        if tenant_ids is None:
            queries = [self.activity_query(None, first_minute)]
        else:
            queries = [
                self.activity_query(tenant_id, first_minute) for tenant_id in dict.fromkeys(tenant_ids)
            ]
        per_minute: dict[datetime, list[int]] = {}
        for query in queries:
            snapshots = query.get(**self._read_options())
            for snapshot in snapshots:
                data = snapshot.to_dict()
                counts = per_minute.setdefault(plain_datetime(data["minute"]), [0, 0])
                counts[0] += int(data.get("received", 0))
                counts[1] += int(data.get("processed", 0))
        return [
            ActivityBucket(minute=minute, received=received, processed=processed)
            for minute, (received, processed) in sorted(per_minute.items())
            if received or processed
        ]

    # -- data lifecycle: removals ------------------------------------------------------

    def _add_removals(self, batch, tenant_id: str, removed: list[dict]) -> None:
        """Counter and activity decrements of records deleted in the same commit (erasure, sweep).

        Each record took one count of its status and (its creation) one "received"
        in the minute of ``received_at``, and (once processed) one "processed" in
        the minute of ``processed_at``: exactly that is taken back, so counts and
        the chart read as if the records had never been there. Last activity stays.
        """
        tenant_ref = self._tenant(tenant_id)
        shard = str(random.randrange(self.counter_shards))  # noqa: S311
        status_deltas = collections.Counter(data.get("status") for data in removed if data.get("status"))
        if status_deltas:
            batch.set(
                tenant_ref.collection(COUNTERS).document(shard),
                {status: firestore.Increment(-count) for status, count in status_deltas.items()},
                merge=True,
            )
        per_minute: dict[datetime, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for data in removed:
            if data.get("received_at") is not None:
                per_minute[minute_of(plain_datetime(data["received_at"]))]["received"] += 1
            if data.get("processed_at") is not None:
                per_minute[minute_of(plain_datetime(data["processed_at"]))]["processed"] += 1
        for minute, decrements in per_minute.items():
            activity_ref = tenant_ref.collection(ACTIVITY).document(f"{minute:%Y%m%d%H%M}-{shard}")
            activity_fields: dict[str, Any] = {"tenant_id": tenant_id, "minute": minute}
            activity_fields.update({name: firestore.Increment(-count) for name, count in decrements.items()})
            batch.set(activity_ref, activity_fields, merge=True)
