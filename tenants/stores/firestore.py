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
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import firestore

from core.cursors import parse_received_at
from core.envelope import LogEnvelope
from core.records import (
    KEEP_FOREVER,
    STATUS_DEAD_LETTERED,
    STATUS_PROCESSED,
    STATUS_RETRYING,
    ProcessedLog,
    Retention,
    event_time_of,
)
from dataproc_site.coalescing import Coalescer
from tenants.stores.base import (
    BaseLogStore,
    StoreUnavailable,
)
from tenants.stores.firestore_bookkeeping import Change, FirestoreBookkeeping
from tenants.stores.firestore_common import (
    CONFLICTS,
    LOGS,
    TENANTS,
    minute_of,
    unavailable_as_store_error,
)
from tenants.stores.firestore_lifecycle import FirestoreLifecycle
from tenants.stores.firestore_reads import FirestoreReads

logger = logging.getLogger(__name__)

MAX_RESULTS_PER_COMMIT = 80
# Commits of the worker's results in flight at once: one commit after another left the
# worker's threads waiting on the round trip (bench: 830 results/s in batches of 16 on
# one thread, 2,250/s in batches of 80 on four).
MAX_CONCURRENT_COMMITS = 4

P = ParamSpec("P")
R = TypeVar("R")

TRANSIENT_ERRORS = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.DeadlineExceeded,
    api_exceptions.InternalServerError,
    api_exceptions.ResourceExhausted,
)


class FirestoreLogStore(FirestoreReads, FirestoreLifecycle, FirestoreBookkeeping, BaseLogStore):
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
            self.save_results,
            shared_errors=(StoreUnavailable,),
            max_batch=MAX_RESULTS_PER_COMMIT,
            max_concurrent=MAX_CONCURRENT_COMMITS,
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
