"""The Firestore store's data lifecycle: the retention sweep, erasure, export and search.

A mixin of ``FirestoreLogStore`` (it uses the store's client, references, read
options and bookkeeping). Firestore deletes expired records itself through the TTL
policy on ``expires_at``; what is here clears expired original text, erases, recounts,
and serves the console's bounded search (docs/lifecycle.md).
"""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from core.cursors import decode_cursor, encode_cursor
from core.records import (
    STATUSES,
    LogRecord,
)
from tenants.stores.base import (
    LIFECYCLE_BATCH,
    SearchBound,
    SearchPage,
    StoreUnavailable,
)
from tenants.stores.firestore_common import (
    ACTIVITY,
    CONFLICTS,
    LOGS,
    MAX_PAGE_SIZE,
    TENANTS,
    plain_datetime,
    unavailable_as_store_error,
)

logger = logging.getLogger(__name__)


class FirestoreLifecycle:
    """Sweeps, erasure, export and search over one Firestore database's records."""

    # -- data lifecycle: retention sweep, erasure, export, search ---------------------
    # A deletion commits together with the counter and activity decrements of what it
    # deletes (``_add_removals``), guarded by a precondition on the record as it was
    # read, like every other write here: a record changed meanwhile is read again.

    # Records deleted per commit: one delete each plus up to two activity documents and
    # a counter shard, well within Firestore's 500 writes per commit.
    max_removals_per_commit = 100
    # Original texts cleared per commit (one update each).
    max_clears_per_commit = 400
    # Records a search reads per round trip while it scans.
    search_scan_batch = 300
    # The recount reads counters and records as of this long ago: every write that
    # committed before then is in both (one commit holds a record and its counts).
    recount_lag_seconds = 5.0

    def _precondition(self, snapshot):
        return self.client.write_option(last_update_time=snapshot.update_time)

    def _remove(self, tenant_id: str, snapshots: list) -> int:
        """Delete these records of one tenant with their counts in one commit; after a lost race, one by one."""
        if not snapshots:
            return 0
        batch = self.client.batch()
        for snapshot in snapshots:
            batch.delete(snapshot.reference, option=self._precondition(snapshot))
        self._add_removals(batch, tenant_id, [snapshot.to_dict() for snapshot in snapshots])
        try:
            batch.commit(retry=None, timeout=self.timeout_seconds)
        except CONFLICTS:
            return sum(self._remove_one(tenant_id, snapshot.reference) for snapshot in snapshots)
        return len(snapshots)

    def _remove_one(self, tenant_id: str, ref) -> int:
        """Delete one record as it is now (read, delete with its counts, unless it changed)."""
        for round_number in range(self.max_write_rounds):
            snapshot = ref.get(**self._read_options())
            if not snapshot.exists:
                return 0
            batch = self.client.batch()
            batch.delete(ref, option=self._precondition(snapshot))
            self._add_removals(batch, tenant_id, [snapshot.to_dict()])
            try:
                batch.commit(retry=None, timeout=self.timeout_seconds)
            except CONFLICTS:
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2**round_number)))  # noqa: S311
                continue
            return 1
        raise StoreUnavailable(f"could not delete {ref.path}: it kept changing under concurrent writers")

    def _tenant_ids(self) -> list[str]:
        return sorted(
            snapshot.id for snapshot in self.client.collection(TENANTS).select([]).get(**self._read_options())
        )

    @unavailable_as_store_error
    def delete_expired(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        """Nothing in production: Firestore's TTL policy on ``expires_at`` deletes expired records.

        ``expires_at`` is the TTL field, exempt from indexing, so no query may
        filter on it. Where no TTL runs (the emulator, ``FIRESTORE_EXPIRE_BY_SWEEP``
        on: its default when ``FIRESTORE_EMULATOR_HOST`` is set), expired records
        are found by reading every tenant's records in ``received_at`` order and
        deleted with their counts: a full scan, fit for the emulator only. Counts
        of records the TTL policy deleted are corrected by ``recount``.
        """
        if not settings.FIRESTORE_EXPIRE_BY_SWEEP:
            return 0
        limit = max(0, int(limit))
        removed = 0
        for tenant_id in self._tenant_ids():
            query = self.logs_query(tenant_id)
            last = None
            while removed < limit:
                page_query = query.start_after(last) if last is not None else query
                snapshots = page_query.limit(self.search_scan_batch).get(**self._read_options())
                due = [
                    snapshot
                    for snapshot in snapshots
                    if (expires_at := plain_datetime(snapshot.to_dict().get("expires_at"))) is not None
                    and expires_at <= now
                ][: limit - removed]
                for start in range(0, len(due), self.max_removals_per_commit):
                    removed += self._remove(tenant_id, due[start : start + self.max_removals_per_commit])
                if len(snapshots) < self.search_scan_batch:
                    break
                last = snapshots[-1]
            if removed >= limit:
                break
        return removed

    def original_text_sweep_query(self, now: datetime):
        """Records of every tenant whose original text is due: a collection-group range (see ``firestore_indexes``)."""
        return (
            self.client.collection_group(LOGS)
            .where(filter=FieldFilter("original_text_expires_at", "<=", now))
            .order_by("original_text_expires_at")
        )

    @unavailable_as_store_error
    def clear_expired_original_text(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        """One collection-group query and one commit per batch; counts do not change."""
        limit = max(0, int(limit))
        cleared = 0
        while cleared < limit:
            size = min(limit - cleared, self.max_clears_per_commit)
            snapshots = self.original_text_sweep_query(now).limit(size).get(**self._read_options())
            if not snapshots:
                break
            batch = self.client.batch()
            for snapshot in snapshots:
                batch.update(snapshot.reference, _CLEARED_ORIGINAL, option=self._precondition(snapshot))
            try:
                batch.commit(retry=None, timeout=self.timeout_seconds)
                cleared += len(snapshots)
            except CONFLICTS:
                cleared += sum(self._clear_one(snapshot.reference, now) for snapshot in snapshots)
            if len(snapshots) < size:
                break
        return cleared

    def _clear_one(self, ref, now: datetime) -> int:
        for _ in range(self.max_write_rounds):
            snapshot = ref.get(**self._read_options())
            due = plain_datetime((snapshot.to_dict() or {}).get("original_text_expires_at"))
            if due is None or due > now:
                return 0
            try:
                ref.update(
                    _CLEARED_ORIGINAL, option=self._precondition(snapshot), timeout=self.timeout_seconds
                )
            except CONFLICTS:
                continue
            return 1
        raise StoreUnavailable(f"could not clear {ref.path}: it kept changing under concurrent writers")

    @unavailable_as_store_error
    def delete_log(self, tenant_id: str, log_id: str) -> bool:
        return self._remove_one(tenant_id, self._log_ref(tenant_id, log_id)) == 1

    @unavailable_as_store_error
    def erase_logs(
        self,
        tenant_id: str,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = LIFECYCLE_BATCH,
    ) -> int:
        """Newest first, one commit per ``max_removals_per_commit`` records.

        Erasing everything (no bounds) also removes, once no record is left, the
        tenant's parent document, counters and activity, so it leaves the tenant list.
        """
        limit = max(0, int(limit))
        query = self.logs_query(tenant_id, received_after=received_after, received_before=received_before)
        erased = 0
        while erased < limit:
            size = min(limit - erased, self.max_removals_per_commit)
            snapshots = query.limit(size).get(**self._read_options())
            if not snapshots:
                if received_after is None and received_before is None:
                    self._forget_empty_tenant(tenant_id)
                break
            erased += self._remove(tenant_id, snapshots)
        return erased

    def _forget_empty_tenant(self, tenant_id: str) -> None:
        """Counters (if they add up to nothing), parent document and activity of a tenant without records.

        Each counter shard is deleted on the condition that it did not change since
        it was read, so a record written meanwhile keeps its count (and the parent
        stays); activity documents only feed the chart.
        """
        shards = [
            snapshot
            for snapshot in self.client.get_all(self._counter_refs(tenant_id), **self._read_options())
            if snapshot.exists
        ]
        totals = dict.fromkeys(STATUSES, 0)
        for snapshot in shards:
            data = snapshot.to_dict()
            for status in STATUSES:
                totals[status] += int(data.get(status, 0))
        if any(totals.values()):
            return
        batch = self.client.batch()
        for snapshot in shards:
            batch.delete(snapshot.reference, option=self._precondition(snapshot))
        batch.delete(self._tenant(tenant_id))
        try:
            batch.commit(retry=None, timeout=self.timeout_seconds)
        except CONFLICTS:
            return
        self._known_tenants.pop(tenant_id, None)
        activity = self._tenant(tenant_id).collection(ACTIVITY)
        while True:
            snapshots = activity.limit(self.max_clears_per_commit).select([]).get(**self._read_options())
            if not snapshots:
                return
            batch = self.client.batch()
            for snapshot in snapshots:
                batch.delete(snapshot.reference)
            batch.commit(retry=None, timeout=self.timeout_seconds)

    @unavailable_as_store_error
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
        """A bounded scan: Firestore has no text search.

        The records received in a window (``received_after``, by default
        ``FIRESTORE_SEARCH_WINDOW_HOURS`` before ``received_before`` or now) are
        read newest first and matched here, at most ``FIRESTORE_SEARCH_MAX_SCANNED``
        per page; the cursor continues the scan after the last record read, so
        the next page goes on where this one stopped. ``bound`` says what was read.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        max_scanned = max(1, int(settings.FIRESTORE_SEARCH_MAX_SCANNED))
        if received_after is None:
            window_end = received_before or datetime.now(UTC)
            received_after = window_end - timedelta(hours=settings.FIRESTORE_SEARCH_WINDOW_HOURS)
        query = self.logs_query(
            tenant_id, status=status, received_after=received_after, received_before=received_before
        )
        position = list(decode_cursor(cursor)) if cursor else None
        needle = text.casefold()
        matches: list[LogRecord] = []
        scanned = 0
        exhausted = False
        last: LogRecord | None = None
        while scanned < max_scanned and len(matches) < limit and not exhausted:
            size = min(self.search_scan_batch, max_scanned - scanned)
            page_query = query.start_after(position) if position else query
            snapshots = page_query.limit(size).get(**self._read_options())
            exhausted = len(snapshots) < size
            for snapshot in snapshots:
                last = self._to_record(snapshot.to_dict())
                scanned += 1
                if needle in (last.modified_data or "").casefold():
                    matches.append(last)
                    if len(matches) == limit:
                        exhausted = exhausted and snapshot is snapshots[-1]
                        break
            if last is not None:
                position = [last.received_at, last.log_id]
        next_cursor = None if exhausted or last is None else encode_cursor(last.received_at, last.log_id)
        bound = SearchBound(
            received_after=received_after,
            received_before=received_before,
            max_scanned=max_scanned,
            scanned=scanned,
        )
        return SearchPage(records=matches, next_cursor=next_cursor, bound=bound)

    @unavailable_as_store_error
    def recount(self, tenant_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
        """Count each tenant's records per status (aggregation queries) and correct the counters.

        Records and counters are both read as of ``recount_lag_seconds`` ago, a
        moment at which every commit holding a record holds its counts too, so the
        difference is exactly what left without its counts (TTL deletions). It is
        added as an increment, which commutes with the worker's own increments.
        """
        read_time = datetime.now(UTC) - timedelta(seconds=self.recount_lag_seconds)
        corrections: dict[str, dict[str, int]] = {}
        for tenant_id in self._tenant_ids() if tenant_ids is None else tenant_ids:
            logs = self._tenant(tenant_id).collection(LOGS)
            counted = dict.fromkeys(STATUSES, 0)
            for snapshot in self.client.get_all(
                self._counter_refs(tenant_id), read_time=read_time, **self._read_options()
            ):
                if snapshot.exists:
                    data = snapshot.to_dict()
                    for status in STATUSES:
                        counted[status] += int(data.get(status, 0))
            deltas = {}
            for status in STATUSES:
                result = (
                    logs.where(filter=FieldFilter("status", "==", status))
                    .count()
                    .get(read_time=read_time, **self._read_options())
                )
                actual = int(result[0][0].value)
                if actual != counted[status]:
                    deltas[status] = actual - counted[status]
            if deltas:
                shard = self._counter_refs(tenant_id)[0]
                shard.set(
                    {status: firestore.Increment(delta) for status, delta in deltas.items()}, merge=True
                )
                corrections[tenant_id] = deltas
                logger.info(
                    "log counts corrected from the records",
                    extra={"tenant_id": tenant_id, "corrections": deltas},
                )
        return corrections


_CLEARED_ORIGINAL = {"original_text": "", "original_text_expires_at": None}
