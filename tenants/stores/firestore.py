"""The log store on Cloud Firestore (``LOG_STORE_BACKEND=firestore``).

Layout (``FIRESTORE_DATABASE`` selects the database):

- ``tenants/{tenant_id}/processed_logs/{log_id}``: the record, with the fields of
  docs/log-store.md (``source``, ``original_text``, ``modified_data``,
  ``processed_at``, ``status``, ``attempts``, ``last_error``, ``received_at``,
  ``message_id``, ``request_id``, ``event_time``, ``severity``, ``attributes``,
  ``findings``, ``policy_version``, ``expires_at`` (the TTL field),
  ``original_text_expires_at``) and ``updated_at``;
- ``tenants/{tenant_id}``: the parent document, so tenants can be listed;
- counters and per-minute activity beside them (``firestore_bookkeeping``).

Every change to a record commits in ONE atomic write together with its counter
and activity increments, guarded by a precondition on the record as it was read
(its update time, or "does not exist yet"): an optimistic transaction. If
another worker changed the record meanwhile the commit fails and the change is
worked out again from a fresh read, so attempts are never lost, a processed
record is never rewritten, and the counters never drift; the console reads
counts from a handful of counter documents and never scans logs.

Listing pages with query cursors (``start_after``), never offsets. The indexes the
queries need are declared in ``tenants.stores.firestore_indexes``.
"""

from __future__ import annotations

import collections
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from core.cursors import decode_cursor, encode_cursor, parse_received_at
from core.envelope import LogEnvelope
from core.records import (
    KEEP_FOREVER,
    STATUS_DEAD_LETTERED,
    STATUS_PROCESSED,
    STATUS_RETRYING,
    STATUSES,
    LogPage,
    LogRecord,
    ProcessedLog,
    Retention,
    event_time_of,
)
from dataproc_site.coalescing import Coalescer
from tenants.stores.base import (
    LIFECYCLE_BATCH,
    BaseLogStore,
    SearchBound,
    SearchPage,
    StoreUnavailable,
)
from tenants.stores.firestore_bookkeeping import Change, FirestoreBookkeeping
from tenants.stores.firestore_common import (
    ACTIVITY,
    LOGS,
    TENANTS,
    minute_of,
    plain_datetime,
    unavailable_as_store_error,
)

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
MAX_RESULTS_PER_COMMIT = 80

P = ParamSpec("P")
R = TypeVar("R")

TRANSIENT_ERRORS = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.DeadlineExceeded,
    api_exceptions.InternalServerError,
    api_exceptions.ResourceExhausted,
)
# Lost races with another writer of the same record: read again and redo.
CONFLICTS = (api_exceptions.FailedPrecondition, api_exceptions.AlreadyExists, api_exceptions.Aborted)


class FirestoreLogStore(FirestoreBookkeeping, BaseLogStore):
    """``BaseLogStore`` on Cloud Firestore; one client per process, created on first use."""

    # Per-RPC deadline, retries of transient errors included; beyond it the store is unavailable.
    timeout_seconds = 10.0
    check_timeout_seconds = 2.0
    # Commit rounds lost to concurrent writers of the same record before giving up.
    max_write_rounds = 40

    def __init__(self) -> None:
        self.project = settings.GOOGLE_CLOUD_PROJECT
        self.database = settings.FIRESTORE_DATABASE
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._client: firestore.Client | None = None
        # Tenants whose parent document this process wrote, and when (monotonic): the
        # parent is merged again now and then rather than on every write, which would
        # make it a hot document for a busy tenant.
        self._known_tenants: dict[str, float] = {}
        # The worker's threads share one round trip for their reads and one commit for
        # their results (dataproc_site.coalescing); each record is one create plus at
        # most four bookkeeping writes per tenant, within Firestore's 500 per commit.
        self._get_together = Coalescer(self.get_many, shared_errors=(StoreUnavailable,))
        self._save_together = Coalescer(
            self.save_results, shared_errors=(StoreUnavailable,), max_batch=MAX_RESULTS_PER_COMMIT
        )

    # -- client -------------------------------------------------------------------

    @property
    def client(self) -> firestore.Client:
        with self._lock:
            if self._pid != os.getpid():  # never reuse a parent's gRPC channel after fork()
                self._client = None
                self._known_tenants = {}
                self._pid = os.getpid()
            if self._client is None:
                self._client = firestore.Client(project=self.project, database=self.database)
            return self._client

    def _read_retry(self) -> api_retry.Retry:
        return api_retry.Retry(
            predicate=api_retry.if_exception_type(*TRANSIENT_ERRORS),
            initial=0.1,
            maximum=2.0,
            multiplier=2.0,
            timeout=self.timeout_seconds,
        )

    def _read_options(self) -> dict:
        return {"retry": self._read_retry(), "timeout": self.timeout_seconds}

    def _tenant(self, tenant_id: str):
        return self.client.collection(TENANTS).document(tenant_id)

    def _log_ref(self, tenant_id: str, log_id: str):
        return self._tenant(tenant_id).collection(LOGS).document(log_id)

    # -- the one write path -------------------------------------------------------

    def _write(
        self,
        tenant_id: str,
        log_id: str,
        plan: Callable[[dict | None], Change],
        *,
        assume_absent: bool = False,
    ) -> Any:
        """Read the record, let ``plan`` decide, commit atomically unless the record changed meanwhile.

        ``assume_absent`` skips the first read: the first round plans as if the
        record did not exist, and its create (precondition: the document does not
        exist) fails as a conflict when it does, after which the next round reads
        it as usual. One round trip instead of two for the common case of a new log.
        """
        ref = self._log_ref(tenant_id, log_id)
        for round_number in range(self.max_write_rounds):
            if assume_absent and round_number == 0:
                snapshot = None
                change = plan(None)
            else:
                snapshot = ref.get(**self._read_options())
                change = plan(snapshot.to_dict() if snapshot.exists else None)
            if change.fields is None:
                return change.result
            batch = self.client.batch()
            if change.create:
                batch.create(ref, change.fields)
            else:
                option = self.client.write_option(last_update_time=snapshot.update_time)
                batch.update(ref, change.fields, option=option)
            parent_written = self._add_bookkeeping(batch, tenant_id, [change])
            try:
                batch.commit(retry=None, timeout=self.timeout_seconds)
            except CONFLICTS:
                if snapshot is None:
                    continue  # the record exists after all: read it and plan again
                # Jittered, growing pause so racing writers do not collide in lockstep.
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2**round_number)))  # noqa: S311
                continue
            if parent_written:
                self._known_tenants[tenant_id] = time.monotonic()
            return change.result
        raise StoreUnavailable(
            f"could not write {tenant_id}/{log_id}: it kept changing under concurrent writers"
        )

    @staticmethod
    def _new_record(envelope: LogEnvelope, retention: Retention, **fields) -> dict:
        return {
            "tenant_id": envelope.tenant_id,
            "log_id": envelope.log_id,
            "source": envelope.source,
            "original_text": envelope.text if retention.keep_original else "",
            "received_at": parse_received_at(envelope.received_at),
            "request_id": envelope.request_id,
            "event_time": event_time_of(envelope),
            "severity": envelope.severity,
            "attributes": dict(envelope.attributes),
            "findings": {},
            "policy_version": 0,
            "expires_at": retention.expires_at,
            "original_text_expires_at": retention.original_text_expires_at
            if retention.keep_original
            else None,
            "updated_at": datetime.now(UTC),
            **fields,
        }

    # -- writes -------------------------------------------------------------------

    def save_processed(self, result: ProcessedLog) -> bool:
        """Concurrent saves from the worker's threads share one commit (``save_results``)."""
        return self._save_together(result)

    @unavailable_as_store_error
    def save_results(self, results: list[ProcessedLog]) -> list[bool]:
        """Create every record, with its tenants' counters and activity, in one commit.

        A log is usually saved at its first attempt, before any record of it exists,
        so the commit's creates (precondition: the document does not exist) mostly
        succeed: one round trip for the whole batch. If any record exists already
        (a retried log, a redelivery), the commit fails as a whole, nothing is
        written, and each result is saved on its own (read, plan, commit).
        """
        results = list(results)
        keys = {(result.envelope.tenant_id, result.envelope.log_id) for result in results}
        if len(results) == 1 or len(keys) < len(results):
            return [self._save_one(result) for result in results]
        batch = self.client.batch()
        changes_by_tenant: dict[str, list[Change]] = collections.defaultdict(list)
        for result in results:
            change = self._processed_change(result, None)
            batch.create(self._log_ref(result.envelope.tenant_id, result.envelope.log_id), change.fields)
            changes_by_tenant[result.envelope.tenant_id].append(change)
        parents = [
            tenant_id
            for tenant_id, changes in changes_by_tenant.items()
            if self._add_bookkeeping(batch, tenant_id, changes)
        ]
        try:
            batch.commit(retry=None, timeout=self.timeout_seconds)
        except CONFLICTS:
            return [self._save_one(result) for result in results]
        except api_exceptions.InvalidArgument:
            # One record Firestore refuses (over its size limit) must not sink the others.
            return [self._save_one(result) for result in results]
        written_at = time.monotonic()
        for tenant_id in parents:
            self._known_tenants[tenant_id] = written_at
        return [True] * len(results)

    def _save_one(self, result: ProcessedLog) -> bool:
        envelope = result.envelope
        return self._write(
            envelope.tenant_id,
            envelope.log_id,
            lambda current: self._processed_change(result, current),
            assume_absent=True,
        )

    def _processed_change(self, result: ProcessedLog, current: dict | None) -> Change:
        if current is not None and current.get("status") == STATUS_PROCESSED:
            return Change(result=False)
        envelope = result.envelope
        processed = {
            "status": STATUS_PROCESSED,
            # The text this result was worked from (the log id may have been sent again,
            # with other text, while the record was retrying): both from one upload.
            "source": envelope.source,
            "original_text": envelope.text if result.retention.keep_original else "",
            "modified_data": result.modified_data,
            "processed_at": result.processed_at,
            "message_id": result.message_id,
            "attributes": dict(envelope.attributes if result.attributes is None else result.attributes),
            "findings": dict(result.findings),
            "policy_version": result.policy_version,
            "updated_at": datetime.now(UTC),
        }
        if current is None:
            return Change(
                result=True,
                fields=self._new_record(
                    result.envelope, result.retention, attempts=1, last_error="", **processed
                ),
                create=True,
                status_deltas={STATUS_PROCESSED: 1},
                received_minute=minute_of(parse_received_at(result.envelope.received_at)),
                processed_minute=minute_of(result.processed_at),
            )
        return Change(
            result=True,
            fields={**processed, "attempts": int(current.get("attempts", 0)) + 1},
            status_deltas=self._moved(current.get("status"), STATUS_PROCESSED),
            processed_minute=minute_of(result.processed_at),
        )

    @unavailable_as_store_error
    def record_failure(
        self, envelope: LogEnvelope, *, error: str, message_id: str, retention: Retention = KEEP_FOREVER
    ) -> int:
        def plan(current: dict | None) -> Change:
            if current is None:
                return Change(
                    result=1,
                    fields=self._new_record(
                        envelope,
                        retention,
                        status=STATUS_RETRYING,
                        attempts=1,
                        last_error=error,
                        modified_data=None,
                        processed_at=None,
                        message_id=message_id,
                    ),
                    create=True,
                    status_deltas={STATUS_RETRYING: 1},
                    received_minute=minute_of(parse_received_at(envelope.received_at)),
                )
            attempts = int(current.get("attempts", 0))
            if current.get("status") == STATUS_PROCESSED:
                logger.info(
                    "late failure ignored for a processed log",
                    extra={"tenant_id": envelope.tenant_id, "log_id": envelope.log_id},
                )
                return Change(result=attempts)
            return Change(
                result=attempts + 1,
                fields={
                    "status": STATUS_RETRYING,
                    "attempts": attempts + 1,
                    "last_error": error,
                    "message_id": message_id,
                    "updated_at": datetime.now(UTC),
                },
                status_deltas=self._moved(current.get("status"), STATUS_RETRYING),
            )

        return self._write(envelope.tenant_id, envelope.log_id, plan)

    def _set_status(
        self, tenant_id: str, log_id: str, new_status: str, allowed: tuple[str, ...], **extra
    ) -> None:
        def plan(current: dict | None) -> Change:
            if current is None or current.get("status") not in allowed:
                return Change(result=None)
            fields = {"status": new_status, "updated_at": datetime.now(UTC), **extra}
            return Change(
                result=None, fields=fields, status_deltas=self._moved(current.get("status"), new_status)
            )

        self._write(tenant_id, log_id, plan)

    @unavailable_as_store_error
    def mark_dead_lettered(self, tenant_id: str, log_id: str) -> None:
        self._set_status(
            tenant_id, log_id, STATUS_DEAD_LETTERED, allowed=(STATUS_RETRYING, STATUS_DEAD_LETTERED)
        )

    @unavailable_as_store_error
    def mark_replayed(self, tenant_id: str, log_id: str) -> None:
        self._set_status(
            tenant_id, log_id, STATUS_RETRYING, allowed=(STATUS_DEAD_LETTERED, STATUS_RETRYING), attempts=0
        )

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

    def check(self) -> None:
        try:
            self._tenant("readiness-check").get(retry=None, timeout=self.check_timeout_seconds)
        except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError) as exc:
            raise StoreUnavailable(f"Firestore unavailable: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            owned = self._pid == os.getpid()
        if client is not None and owned:
            try:
                client.close()
            except Exception:
                logger.debug("closing the Firestore client failed", exc_info=True)

    # -- re-scrub (redaction policy) ------------------------------------------------

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
        """Read, check (processed, older version), update under the read's precondition."""

        def plan(current: dict | None) -> Change:
            if (
                current is None
                or current.get("status") != STATUS_PROCESSED
                or int(current.get("policy_version", 0)) >= policy_version
            ):
                return Change(result=False)
            return Change(
                result=True,
                fields={
                    "modified_data": modified_data,
                    "attributes": dict(attributes),
                    "findings": dict(findings),
                    "policy_version": policy_version,
                    "updated_at": datetime.now(UTC),
                },
            )

        return self._write(tenant_id, log_id, plan)

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
