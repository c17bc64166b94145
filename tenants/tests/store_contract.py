"""The contract every log-store backend passes, written only against ``BaseLogStore``.

``LogStoreContract`` holds the tests; ``tenants/tests/test_store_contract.py``
runs them once per name in its ``STORE_BACKENDS`` list through the parametrised
``log_store`` fixture, which asks for the fixture called ``<name>_log_store``.

Adding a backend (Firestore, say) takes two things:

1. a fixture ``firestore_log_store`` that yields a ready ``BaseLogStore`` (and skips
   through ``conftest.require_or_skip`` when its emulator is missing), visible to
   ``test_store_contract.py`` (define it in that module next to
   ``database_log_store``, or in a plugin the root ``conftest.py`` loads);
2. one line in ``STORE_BACKENDS``:
   ``pytest.param("firestore", marks=pytest.mark.emulators),``.

The tests never look at a backend's storage directly and never assume an empty
store: every test writes under fresh tenant ids (uuid-suffixed), so the suite can
run against a long-lived emulator too. Contract details the tests pin down, beyond
the docstrings of ``BaseLogStore``:

- ``save_result`` sets ``attempts`` to the attempts so far including the
  successful one (1 for a first-time success) and keeps ``last_error``;
- ``list_logs``: ``received_after`` inclusive, ``received_before`` exclusive, ties
  on ``received_at`` broken by ``log_id`` (descending), ``next_cursor`` None once
  nothing is left (also when the last page is exactly full), ValueError for a
  cursor the store did not issue or an unknown status;
- ``save_results`` / ``get_many``: one answer per item, in order, each as the
  single call would give it (a batch mixing new, retried and processed logs
  included); concurrent single calls from many threads each get their own answer
  (backends serve them in shared batches);
- ``activity``: only minutes with something received or processed, ascending,
  as aware UTC datetimes; ``received`` counts by ``received_at``, ``processed``
  by ``processed_at``;
- the data lifecycle (sweep, erasure, export, search): batched calls answer how
  many they did, 0 once nothing is left; counts, the tenant list and activity
  read afterwards as if the deleted records had never been written; a search
  matches the redacted text only. Firestore's sweep deletes expired records only
  where no TTL policy runs (``FIRESTORE_EXPIRE_BY_SWEEP``, on in these tests).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope
from core.records import (
    STATUS_DEAD_LETTERED,
    STATUS_PROCESSED,
    STATUS_RETRYING,
    STATUSES,
    ActivityBucket,
    ProcessedLog,
    Retention,
)
from tenants.stores.base import BaseLogStore
from tests.threads import in_threads

BASE_TIME = datetime(2020, 3, 1, 10, 0, tzinfo=UTC)


def new_tenant_id(label: str = "t") -> str:
    return f"contract-{label}-{uuid.uuid4().hex[:12]}"


def make_envelope(
    tenant_id: str,
    log_id: str,
    *,
    text: str = "User 555-0199 logged in",
    source: str = SOURCE_JSON,
    received_at: datetime | None = None,
    request_id: str = "",
) -> LogEnvelope:
    moment = received_at or datetime.now(UTC)
    return LogEnvelope(
        tenant_id=tenant_id,
        log_id=log_id,
        source=source,
        text=text,
        received_at=moment.isoformat(),
        request_id=request_id,
    )


def process(store: BaseLogStore, envelope: LogEnvelope, *, processed_at: datetime | None = None) -> bool:
    return store.save_result(
        envelope,
        modified_data=envelope.text.replace("555-0199", "[REDACTED]"),
        message_id=f"msg-{envelope.log_id}",
        processed_at=processed_at or datetime.now(UTC),
    )


def fail(store: BaseLogStore, envelope: LogEnvelope, error: str = "boom") -> int:
    return store.record_failure(envelope, error=error, message_id=f"msg-{envelope.log_id}")


def until_done(step) -> int:
    """Call a batched lifecycle method until it answers 0; the total it did."""
    total = 0
    while done := step():
        total += done
    return total


def kept(received_at: datetime, *, record_days: float | None, original_days: float | None) -> Retention:
    def after(days):
        return received_at + timedelta(days=days) if days is not None else None

    return Retention(expires_at=after(record_days), original_text_expires_at=after(original_days))


class LogStoreContract:
    """Behaviour every ``BaseLogStore`` shares. Needs a ``log_store`` fixture."""

    @pytest.fixture
    def tenant(self) -> str:
        return new_tenant_id()

    # -- save_result and get ------------------------------------------------------

    def test_a_saved_result_reads_back_with_every_field(self, log_store, tenant):
        envelope = make_envelope(
            tenant, "log-1", text="Call 555-0199 now", source=SOURCE_TEXT, request_id="req-42"
        )
        processed_at = datetime.now(UTC)

        assert log_store.save_result(
            envelope, modified_data="Call [REDACTED] now", message_id="msg-1", processed_at=processed_at
        )

        record = log_store.get(tenant, "log-1")
        assert record is not None
        assert record.tenant_id == tenant
        assert record.log_id == "log-1"
        assert record.source == SOURCE_TEXT
        assert record.original_text == "Call 555-0199 now"
        assert record.modified_data == "Call [REDACTED] now"
        assert record.status == STATUS_PROCESSED
        assert record.attempts == 1
        assert record.last_error == ""
        assert record.received_at == datetime.fromisoformat(envelope.received_at)
        assert record.received_at.utcoffset() == timedelta(0)
        assert record.processed_at == processed_at
        assert record.message_id == "msg-1"
        assert record.request_id == "req-42"
        assert record.updated_at is not None

    def test_what_the_log_said_and_what_redaction_found_read_back(self, log_store, tenant):
        envelope = dataclasses.replace(
            make_envelope(tenant, "log-1", text="user alice@example.com"),
            event_time="2026-11-30T23:59:58.250000+00:00",
            severity="WARN",
            attributes={"host": "web-1", "status": 502, "cached": False},
        )
        expires_at = BASE_TIME + timedelta(days=30)
        original_expires_at = BASE_TIME + timedelta(days=7)

        log_store.save_result(
            envelope,
            modified_data="user [REDACTED]",
            message_id="msg-1",
            processed_at=datetime.now(UTC),
            findings={"email": 1},
            policy_version=3,
            attributes={"host": "web-1", "status": 502, "cached": False, "note": "[REDACTED]"},
            retention=Retention(expires_at=expires_at, original_text_expires_at=original_expires_at),
        )

        record = log_store.get(tenant, "log-1")
        assert record.event_time == datetime(2026, 11, 30, 23, 59, 58, 250000, tzinfo=UTC)
        assert record.severity == "WARN"
        assert record.attributes == {"host": "web-1", "status": 502, "cached": False, "note": "[REDACTED]"}
        assert record.findings == {"email": 1}
        assert record.policy_version == 3
        assert record.expires_at == expires_at
        assert record.original_text_expires_at == original_expires_at

    def test_a_tenant_that_keeps_no_original_text_stores_only_the_redacted_one(self, log_store, tenant):
        never = Retention(expires_at=BASE_TIME + timedelta(days=30), keep_original=False)
        failing = make_envelope(tenant, "log-1", text="Call 555-0199")
        log_store.record_failure(failing, error="boom", message_id="m-1", retention=never)
        assert log_store.get(tenant, "log-1").original_text == ""

        log_store.save_result(
            failing,
            modified_data="Call [REDACTED]",
            message_id="m-2",
            processed_at=datetime.now(UTC),
            retention=never,
        )
        log_store.save_result(
            make_envelope(tenant, "log-2", text="Call 555-0100"),
            modified_data="Call [REDACTED]",
            message_id="m-3",
            processed_at=datetime.now(UTC),
            retention=never,
        )

        for log_id in ("log-1", "log-2"):
            record = log_store.get(tenant, log_id)
            assert (record.original_text, record.modified_data) == ("", "Call [REDACTED]")
            assert record.original_text_expires_at is None
            assert record.expires_at == BASE_TIME + timedelta(days=30)

    def test_a_log_id_sent_again_while_retrying_keeps_one_uploads_text_in_both_fields(
        self, log_store, tenant
    ):
        first = make_envelope(tenant, "log-1", text="first upload 555-0199")
        second = make_envelope(tenant, "log-1", text="second upload 555-0100")
        fail(log_store, first)

        log_store.save_result(
            second, modified_data="second upload [REDACTED]", message_id="m-2", processed_at=datetime.now(UTC)
        )

        record = log_store.get(tenant, "log-1")
        assert (record.original_text, record.modified_data) == (
            "second upload 555-0100",
            "second upload [REDACTED]",
        )

    def test_a_record_rebuilds_the_envelope_that_was_queued(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1", source=SOURCE_TEXT, request_id="req-7")
        fail(log_store, envelope)

        rebuilt = log_store.get(tenant, "log-1").to_envelope()

        assert (rebuilt.tenant_id, rebuilt.log_id, rebuilt.source, rebuilt.text, rebuilt.request_id) == (
            tenant,
            "log-1",
            SOURCE_TEXT,
            envelope.text,
            "req-7",
        )
        assert datetime.fromisoformat(rebuilt.received_at) == datetime.fromisoformat(envelope.received_at)

    def test_save_results_answers_each_result_as_save_result_would(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        done, retried = make_envelope(tenant, "done"), make_envelope(tenant, "retried")
        process(log_store, done)
        fail(log_store, retried)
        envelopes = [done, retried, make_envelope(tenant, "new"), make_envelope(other_tenant, "new")]
        now = datetime.now(UTC)

        saved = log_store.save_results(
            [
                ProcessedLog(envelope, f"clean {envelope.log_id}", f"msg-{envelope.log_id}", now)
                for envelope in envelopes
            ]
        )

        assert saved == [False, True, True, True]
        assert log_store.get(tenant, "done").modified_data != "clean done"  # processed already: unchanged
        record = log_store.get(tenant, "retried")
        assert (record.status, record.attempts, record.last_error) == (STATUS_PROCESSED, 2, "boom")
        assert log_store.get(other_tenant, "new").modified_data == "clean new"
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 3, STATUS_RETRYING: 0, STATUS_DEAD_LETTERED: 0}
        assert log_store.counts(other_tenant)[STATUS_PROCESSED] == 1

    def test_a_batch_of_new_logs_counts_and_charts_every_one(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        received = BASE_TIME + timedelta(seconds=1)
        envelopes = [
            make_envelope(tenant if index < 7 else other_tenant, f"log-{index}", received_at=received)
            for index in range(10)
        ]
        processed_at = BASE_TIME + timedelta(minutes=1, seconds=2)

        saved = log_store.save_results(
            [
                ProcessedLog(envelope, "clean", f"msg-{envelope.log_id}", processed_at)
                for envelope in envelopes
            ]
        )

        assert saved == [True] * 10
        assert log_store.counts(tenant)[STATUS_PROCESSED] == 7
        assert log_store.counts(other_tenant)[STATUS_PROCESSED] == 3
        assert log_store.activity([tenant], since=BASE_TIME) == [
            ActivityBucket(minute=BASE_TIME, received=7, processed=0),
            ActivityBucket(minute=BASE_TIME + timedelta(minutes=1), received=0, processed=7),
        ]

    def test_a_batch_naming_one_log_twice_stores_it_once(self, log_store, tenant):
        envelope = make_envelope(tenant, "twice")
        now = datetime.now(UTC)

        saved = log_store.save_results([ProcessedLog(envelope, "clean", "msg-a", now)] * 2)

        assert saved == [True, False]
        assert log_store.counts(tenant)[STATUS_PROCESSED] == 1

    def test_get_many_reads_each_key_in_order(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        process(log_store, make_envelope(tenant, "shared", text="mine"))
        process(log_store, make_envelope(other_tenant, "shared", text="theirs"))

        records = log_store.get_many([(other_tenant, "shared"), (tenant, "missing"), (tenant, "shared")])

        assert [record.original_text if record else None for record in records] == ["theirs", None, "mine"]
        assert log_store.get_many([]) == []

    def test_an_unknown_log_reads_as_none(self, log_store, tenant):
        assert log_store.get(tenant, "missing") is None

    def test_tenants_with_the_same_log_id_keep_separate_records(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        process(log_store, make_envelope(tenant, "shared", text="mine"))
        process(log_store, make_envelope(other_tenant, "shared", text="theirs"))

        assert log_store.get(tenant, "shared").original_text == "mine"
        assert log_store.get(other_tenant, "shared").original_text == "theirs"

    def test_saving_a_processed_log_again_returns_false_and_changes_nothing(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        assert process(log_store, envelope)
        before = log_store.get(tenant, "log-1")

        again = log_store.save_result(
            envelope, modified_data="something else", message_id="msg-other", processed_at=datetime.now(UTC)
        )

        assert again is False
        assert log_store.get(tenant, "log-1") == before

    # -- failures -----------------------------------------------------------------

    def test_each_failure_counts_an_attempt_and_keeps_the_latest_error(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")

        assert fail(log_store, envelope, "first error") == 1
        assert fail(log_store, envelope, "second error") == 2

        record = log_store.get(tenant, "log-1")
        assert record.status == STATUS_RETRYING
        assert record.attempts == 2
        assert record.last_error == "second error"
        assert record.modified_data is None
        assert record.processed_at is None
        assert record.original_text == envelope.text

    def test_success_after_failures_counts_every_attempt(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        fail(log_store, envelope, "flaky")
        fail(log_store, envelope, "flaky again")

        assert process(log_store, envelope)

        record = log_store.get(tenant, "log-1")
        assert record.status == STATUS_PROCESSED
        assert record.attempts == 3
        assert record.last_error == "flaky again"
        assert record.modified_data == "User [REDACTED] logged in"

    def test_a_late_failure_after_processing_changes_nothing(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        process(log_store, envelope)
        before = log_store.get(tenant, "log-1")

        attempts = fail(log_store, envelope, "late duplicate failed")

        assert attempts == before.attempts
        assert log_store.get(tenant, "log-1") == before

    # -- dead letters and replay --------------------------------------------------

    def test_a_log_that_exhausted_its_attempts_is_dead_lettered(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        for _ in range(3):
            fail(log_store, envelope, "always fails")

        log_store.mark_dead_lettered(tenant, "log-1")

        record = log_store.get(tenant, "log-1")
        assert record.status == STATUS_DEAD_LETTERED
        assert record.attempts == 3
        assert record.last_error == "always fails"

    def test_dead_lettering_leaves_a_processed_log_alone(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        process(log_store, envelope)
        before = log_store.get(tenant, "log-1")

        log_store.mark_dead_lettered(tenant, "log-1")

        assert log_store.get(tenant, "log-1") == before

    def test_dead_lettering_an_unknown_log_does_nothing(self, log_store, tenant):
        log_store.mark_dead_lettered(tenant, "missing")

        assert log_store.get(tenant, "missing") is None

    def test_a_replayed_dead_letter_starts_again_from_zero_attempts(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        fail(log_store, envelope)
        fail(log_store, envelope)
        log_store.mark_dead_lettered(tenant, "log-1")

        log_store.mark_replayed(tenant, "log-1")

        record = log_store.get(tenant, "log-1")
        assert record.status == STATUS_RETRYING
        assert record.attempts == 0
        assert fail(log_store, envelope) == 1
        assert process(log_store, envelope)
        assert log_store.get(tenant, "log-1").status == STATUS_PROCESSED

    def test_a_retrying_log_can_be_replayed(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        fail(log_store, envelope)

        log_store.mark_replayed(tenant, "log-1")

        record = log_store.get(tenant, "log-1")
        assert (record.status, record.attempts) == (STATUS_RETRYING, 0)

    def test_replaying_a_processed_log_changes_nothing(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        process(log_store, envelope)
        before = log_store.get(tenant, "log-1")

        log_store.mark_replayed(tenant, "log-1")

        assert log_store.get(tenant, "log-1") == before

    # -- listing ------------------------------------------------------------------

    def _seed_list(self, store: BaseLogStore, tenant: str) -> list[tuple[datetime, str]]:
        """23 records over 10 distinct times (ties included); returns the expected order."""
        written = []
        for index in range(23):
            received_at = BASE_TIME + timedelta(seconds=index // 3 * 7, microseconds=index % 2)
            envelope = make_envelope(tenant, f"log-{index:02d}", received_at=received_at)
            if index % 4 == 0:
                fail(store, envelope)
            else:
                process(store, envelope)
            written.append((received_at, f"log-{index:02d}"))
        return sorted(written, reverse=True)

    def test_logs_list_newest_first_with_ties_ordered_by_log_id(self, log_store, tenant):
        expected = self._seed_list(log_store, tenant)

        page = log_store.list_logs(tenant, limit=100)

        assert [(record.received_at, record.log_id) for record in page.records] == expected
        assert page.next_cursor is None

    def test_cursor_pages_cover_every_log_once_in_order(self, log_store, tenant):
        expected = self._seed_list(log_store, tenant)

        seen, cursor, pages = [], None, 0
        while True:
            page = log_store.list_logs(tenant, limit=5, cursor=cursor)
            pages += 1
            assert len(page.records) <= 5
            seen.extend((record.received_at, record.log_id) for record in page.records)
            cursor = page.next_cursor
            if cursor is None:
                break
            assert isinstance(cursor, str)

        assert seen == expected
        assert pages == 5

    def test_an_exactly_full_last_page_has_no_next_cursor(self, log_store, tenant):
        for index in range(4):
            process(log_store, make_envelope(tenant, f"log-{index}", received_at=BASE_TIME))

        first = log_store.list_logs(tenant, limit=2)
        second = log_store.list_logs(tenant, limit=2, cursor=first.next_cursor)

        assert [record.log_id for record in first.records + second.records] == [
            "log-3",
            "log-2",
            "log-1",
            "log-0",
        ]
        assert second.next_cursor is None

    def test_logs_filter_by_status_across_pages(self, log_store, tenant):
        expected = self._seed_list(log_store, tenant)
        retrying = [key for key in expected if int(key[1][-2:]) % 4 == 0]

        seen, cursor = [], None
        while True:
            page = log_store.list_logs(tenant, status=STATUS_RETRYING, limit=2, cursor=cursor)
            assert {record.status for record in page.records} <= {STATUS_RETRYING}
            seen.extend((record.received_at, record.log_id) for record in page.records)
            cursor = page.next_cursor
            if cursor is None:
                break

        assert seen == retrying
        assert log_store.list_logs(tenant, status=STATUS_DEAD_LETTERED).records == []

    def test_logs_filter_by_received_time_range(self, log_store, tenant):
        expected = self._seed_list(log_store, tenant)
        after = BASE_TIME + timedelta(seconds=14)
        before = BASE_TIME + timedelta(seconds=35)

        page = log_store.list_logs(tenant, received_after=after, received_before=before, limit=3)
        seen = [(record.received_at, record.log_id) for record in page.records]
        while page.next_cursor:
            page = log_store.list_logs(
                tenant, received_after=after, received_before=before, limit=3, cursor=page.next_cursor
            )
            seen.extend((record.received_at, record.log_id) for record in page.records)

        assert seen == [key for key in expected if after <= key[0] < before]
        assert seen[-1][0] == after  # inclusive lower bound
        assert all(key[0] != before for key in seen)  # exclusive upper bound

    def test_logs_of_other_tenants_are_never_listed(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        process(log_store, make_envelope(other_tenant, "theirs"))
        process(log_store, make_envelope(tenant, "mine"))

        assert [record.log_id for record in log_store.list_logs(tenant).records] == ["mine"]

    def test_a_tenant_without_logs_lists_an_empty_page(self, log_store, tenant):
        page = log_store.list_logs(tenant)

        assert page.records == []
        assert page.next_cursor is None

    def test_a_cursor_the_store_did_not_issue_is_a_value_error(self, log_store, tenant):
        with pytest.raises(ValueError):
            log_store.list_logs(tenant, cursor="not-a-cursor!")

    def test_an_unknown_status_filter_is_a_value_error(self, log_store, tenant):
        with pytest.raises(ValueError):
            log_store.list_logs(tenant, status="lost")

    # -- counts and tenants -------------------------------------------------------

    def test_counts_cover_every_status(self, log_store, tenant):
        for index in range(3):
            process(log_store, make_envelope(tenant, f"ok-{index}"))
        for index in range(2):
            fail(log_store, make_envelope(tenant, f"retry-{index}"))
        fail(log_store, make_envelope(tenant, "dead"))
        log_store.mark_dead_lettered(tenant, "dead")

        assert log_store.counts(tenant) == {
            STATUS_PROCESSED: 3,
            STATUS_RETRYING: 2,
            STATUS_DEAD_LETTERED: 1,
        }

    def test_counts_follow_a_record_through_its_statuses(self, log_store, tenant):
        envelope = make_envelope(tenant, "log-1")
        fail(log_store, envelope)
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 0, STATUS_RETRYING: 1, STATUS_DEAD_LETTERED: 0}
        log_store.mark_dead_lettered(tenant, "log-1")
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 0, STATUS_RETRYING: 0, STATUS_DEAD_LETTERED: 1}
        log_store.mark_replayed(tenant, "log-1")
        process(log_store, envelope)
        process(log_store, envelope)  # a redelivery counts once
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 1, STATUS_RETRYING: 0, STATUS_DEAD_LETTERED: 0}

    def test_a_tenant_without_logs_counts_zero_for_every_status(self, log_store, tenant):
        assert log_store.counts(tenant) == dict.fromkeys(STATUSES, 0)

    def test_tenants_with_logs_are_listed_with_counts_and_last_activity(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        started = datetime.now(UTC) - timedelta(seconds=5)
        process(log_store, make_envelope(tenant, "ok"))
        fail(log_store, make_envelope(tenant, "retry"))
        fail(log_store, make_envelope(other_tenant, "dead"))
        log_store.mark_dead_lettered(other_tenant, "dead")

        summaries = {summary.tenant_id: summary for summary in log_store.list_tenants()}

        assert summaries[tenant].counts == {STATUS_PROCESSED: 1, STATUS_RETRYING: 1, STATUS_DEAD_LETTERED: 0}
        assert summaries[other_tenant].counts == {
            STATUS_PROCESSED: 0,
            STATUS_RETRYING: 0,
            STATUS_DEAD_LETTERED: 1,
        }
        for tenant_id in (tenant, other_tenant):
            assert summaries[tenant_id].last_activity is not None
            assert summaries[tenant_id].last_activity >= started
        assert new_tenant_id("never-wrote") not in summaries

    # -- activity -----------------------------------------------------------------

    def _seed_activity(self, store: BaseLogStore, tenant: str) -> None:
        minute = BASE_TIME
        first = make_envelope(tenant, "a", received_at=minute + timedelta(seconds=10))
        second = make_envelope(tenant, "b", received_at=minute + timedelta(seconds=50))
        third = make_envelope(tenant, "c", received_at=minute + timedelta(minutes=2, seconds=5))
        early = make_envelope(tenant, "early", received_at=minute - timedelta(seconds=1))
        process(store, first, processed_at=minute + timedelta(minutes=1, seconds=30))
        process(store, second, processed_at=minute + timedelta(minutes=1, seconds=59))
        process(store, third, processed_at=minute + timedelta(minutes=2, seconds=59))
        process(store, early, processed_at=minute + timedelta(minutes=2, seconds=10))
        fail(store, make_envelope(tenant, "failing", received_at=minute + timedelta(minutes=2, seconds=30)))

    def test_activity_counts_received_and_processed_logs_per_minute(self, log_store, tenant):
        self._seed_activity(log_store, tenant)

        buckets = log_store.activity([tenant], since=BASE_TIME)

        assert buckets == [
            ActivityBucket(minute=BASE_TIME, received=2, processed=0),
            ActivityBucket(minute=BASE_TIME + timedelta(minutes=1), received=0, processed=2),
            ActivityBucket(minute=BASE_TIME + timedelta(minutes=2), received=2, processed=2),
        ]
        assert all(bucket.minute.utcoffset() == timedelta(0) for bucket in buckets)

    def test_activity_only_counts_the_tenants_asked_for(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        self._seed_activity(log_store, tenant)
        process(
            log_store,
            make_envelope(other_tenant, "x", received_at=BASE_TIME + timedelta(seconds=1)),
            processed_at=BASE_TIME + timedelta(seconds=5),
        )

        only_other = log_store.activity([other_tenant], since=BASE_TIME)
        both = log_store.activity([tenant, other_tenant], since=BASE_TIME)

        assert only_other == [ActivityBucket(minute=BASE_TIME, received=1, processed=1)]
        assert both[0] == ActivityBucket(minute=BASE_TIME, received=3, processed=1)
        assert log_store.activity([], since=BASE_TIME) == []

    def test_activity_of_every_tenant_includes_each_one(self, log_store, tenant):
        self._seed_activity(log_store, tenant)
        ours = {bucket.minute: bucket for bucket in log_store.activity([tenant], since=BASE_TIME)}

        everyone = {bucket.minute: bucket for bucket in log_store.activity(None, since=BASE_TIME)}

        for minute, bucket in ours.items():
            assert everyone[minute].received >= bucket.received
            assert everyone[minute].processed >= bucket.processed

    def test_activity_ignores_what_happened_before_since(self, log_store, tenant):
        self._seed_activity(log_store, tenant)

        buckets = log_store.activity([tenant], since=BASE_TIME + timedelta(minutes=2))

        assert buckets == [ActivityBucket(minute=BASE_TIME + timedelta(minutes=2), received=2, processed=2)]

    # -- health and concurrency ---------------------------------------------------

    def test_a_reachable_store_passes_its_check(self, log_store):
        log_store.check()

    def test_concurrent_failures_count_every_attempt(self, log_store, tenant):
        envelope = make_envelope(tenant, "contended")
        threads, calls_each = 6, 5

        results = in_threads(
            threads, lambda index: [fail(log_store, envelope, f"thread {index}") for _ in range(calls_each)]
        )

        returned = sorted(attempts for per_thread in results for attempts in per_thread)
        assert returned == list(range(1, threads * calls_each + 1))  # each caller saw its own count
        assert log_store.get(tenant, "contended").attempts == threads * calls_each

    def test_concurrent_saves_and_reads_of_many_logs_each_get_their_own_answer(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        envelopes = [
            make_envelope(tenant if index % 2 else other_tenant, f"log-{index}", text=f"text {index}")
            for index in range(12)
        ]

        saved = in_threads(12, lambda index: process(log_store, envelopes[index]))
        read = in_threads(12, lambda index: log_store.get(envelopes[index].tenant_id, f"log-{index}"))

        assert saved == [True] * 12
        assert [(record.tenant_id, record.original_text) for record in read] == [
            (envelope.tenant_id, envelope.text) for envelope in envelopes
        ]
        assert log_store.counts(tenant)[STATUS_PROCESSED] == 6
        assert log_store.counts(other_tenant)[STATUS_PROCESSED] == 6

    def test_concurrent_saves_of_one_log_store_it_once(self, log_store, tenant):
        envelope = make_envelope(tenant, "raced")

        results = in_threads(4, lambda index: process(log_store, envelope))

        assert sorted(results) == [False, False, False, True]
        record = log_store.get(tenant, "raced")
        assert (record.status, record.attempts) == (STATUS_PROCESSED, 1)

    # -- re-scrub (redaction policy) ----------------------------------------------

    def _rescrub(self, store: BaseLogStore, tenant: str, log_id: str, version: int, text: str) -> bool:
        return store.save_rescrubbed(
            tenant,
            log_id,
            modified_data=text,
            attributes={"caller": "[PHONE]", "status": 200},
            findings={"phone": 2},
            policy_version=version,
        )

    def test_a_rescrub_replaces_the_redacted_text_attributes_findings_and_version_only(
        self, log_store, tenant
    ):
        envelope = dataclasses.replace(
            make_envelope(tenant, "log-1", text="Call 555-0199"), attributes={"caller": "555-0100"}
        )
        fail(log_store, envelope)
        log_store.save_result(
            envelope,
            modified_data="Call [REDACTED]",
            message_id="m-2",
            processed_at=BASE_TIME,
            findings={"phone": 1},
            policy_version=1,
            attributes={"caller": "555-0100"},
        )
        before = log_store.get(tenant, "log-1")

        assert self._rescrub(log_store, tenant, "log-1", 2, "Call [PHONE]") is True

        after = log_store.get(tenant, "log-1")
        assert (after.modified_data, after.attributes, after.findings, after.policy_version) == (
            "Call [PHONE]",
            {"caller": "[PHONE]", "status": 200},
            {"phone": 2},
            2,
        )
        assert (
            after.status,
            after.attempts,
            after.last_error,
            after.original_text,
            after.processed_at,
            after.message_id,
            after.received_at,
        ) == (
            before.status,
            before.attempts,
            before.last_error,
            before.original_text,
            before.processed_at,
            before.message_id,
            before.received_at,
        )
        assert after.updated_at >= before.updated_at
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 1, STATUS_RETRYING: 0, STATUS_DEAD_LETTERED: 0}

    def test_a_rescrub_under_the_same_or_an_older_version_changes_nothing(self, log_store, tenant):
        process(log_store, make_envelope(tenant, "log-1"))
        assert self._rescrub(log_store, tenant, "log-1", 3, "v3 text") is True
        rescrubbed = log_store.get(tenant, "log-1")

        assert self._rescrub(log_store, tenant, "log-1", 3, "v3 again") is False
        assert self._rescrub(log_store, tenant, "log-1", 2, "an older run finishing late") is False

        assert log_store.get(tenant, "log-1") == rescrubbed

    def test_a_rescrub_leaves_unprocessed_and_unknown_records_alone(self, log_store, tenant):
        fail(log_store, make_envelope(tenant, "retrying"))
        dead = make_envelope(tenant, "dead")
        fail(log_store, dead)
        log_store.mark_dead_lettered(tenant, "dead")
        before = log_store.get_many([(tenant, "retrying"), (tenant, "dead")])

        assert self._rescrub(log_store, tenant, "retrying", 5, "x") is False
        assert self._rescrub(log_store, tenant, "dead", 5, "x") is False
        assert self._rescrub(log_store, tenant, "missing", 5, "x") is False

        assert log_store.get_many([(tenant, "retrying"), (tenant, "dead")]) == before
        assert log_store.get(tenant, "missing") is None

    def test_a_rescrub_touches_only_its_own_tenants_record(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        process(log_store, make_envelope(tenant, "shared", text="mine 555-0199"))
        process(log_store, make_envelope(other_tenant, "shared", text="theirs 555-0199"))
        theirs = log_store.get(other_tenant, "shared")

        assert self._rescrub(log_store, tenant, "shared", 1, "mine [PHONE]") is True

        assert log_store.get(other_tenant, "shared") == theirs
        assert log_store.get(tenant, "shared").modified_data == "mine [PHONE]"

    # -- data lifecycle: retention sweep, erasure, export, search ---------------------

    @pytest.fixture
    def sweep_deletes(self, settings):
        """Firestore's sweep deletes expired records where no TTL policy runs (the emulator)."""
        settings.FIRESTORE_EXPIRE_BY_SWEEP = True

    def _write(
        self,
        store: BaseLogStore,
        tenant: str,
        log_id: str,
        *,
        received_at: datetime = BASE_TIME,
        retention: Retention | None = None,
        processed: bool = True,
        text: str = "User 555-0199 logged in",
    ) -> None:
        envelope = make_envelope(tenant, log_id, received_at=received_at, text=text)
        retention = retention or kept(received_at, record_days=None, original_days=None)
        if processed:
            store.save_result(
                envelope,
                modified_data=text.replace("555-0199", "[REDACTED]"),
                message_id=f"msg-{log_id}",
                processed_at=received_at + timedelta(seconds=90),
                retention=retention,
            )
        else:
            store.record_failure(envelope, error="boom", message_id=f"msg-{log_id}", retention=retention)

    @pytest.mark.usefixtures("sweep_deletes")
    def test_expired_records_are_deleted_and_counts_and_activity_follow(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        one_day = kept(BASE_TIME, record_days=1, original_days=1)
        self._write(log_store, tenant, "old-done", retention=one_day)
        self._write(log_store, tenant, "old-failing", retention=one_day, processed=False)
        self._write(log_store, tenant, "fresh", retention=kept(BASE_TIME, record_days=30, original_days=7))
        self._write(log_store, tenant, "forever")
        self._write(log_store, other_tenant, "old", retention=one_day)
        now = BASE_TIME + timedelta(days=2)

        deleted = until_done(lambda: log_store.delete_expired(now=now, limit=2))

        assert deleted >= 3  # a shared emulator may hold other tests' expired records too
        assert [record.log_id for record in log_store.list_logs(tenant).records] == ["fresh", "forever"]
        assert log_store.get(other_tenant, "old") is None
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 2, STATUS_RETRYING: 0, STATUS_DEAD_LETTERED: 0}
        assert log_store.activity([tenant], since=BASE_TIME) == [
            ActivityBucket(minute=BASE_TIME, received=2, processed=0),
            ActivityBucket(minute=BASE_TIME + timedelta(minutes=1), received=0, processed=2),
        ]
        assert log_store.delete_expired(now=now) == 0

    @pytest.mark.usefixtures("sweep_deletes")
    def test_expiry_deletes_at_most_a_batch_per_call(self, log_store, tenant):
        for index in range(3):
            self._write(
                log_store, tenant, f"log-{index}", retention=kept(BASE_TIME, record_days=1, original_days=1)
            )

        assert log_store.delete_expired(now=BASE_TIME + timedelta(days=1), limit=2) == 2
        assert len(log_store.list_logs(tenant).records) == 1

    def test_expired_original_text_is_cleared_and_the_redacted_record_stays(self, log_store, tenant):
        self._write(log_store, tenant, "due", retention=kept(BASE_TIME, record_days=30, original_days=1))
        self._write(log_store, tenant, "later", retention=kept(BASE_TIME, record_days=30, original_days=10))
        self._write(
            log_store,
            tenant,
            "failing",
            retention=kept(BASE_TIME, record_days=30, original_days=1),
            processed=False,
        )
        counts = log_store.counts(tenant)
        now = BASE_TIME + timedelta(days=2)

        cleared = until_done(lambda: log_store.clear_expired_original_text(now=now, limit=1))

        assert cleared >= 2
        due = log_store.get(tenant, "due")
        assert (due.original_text, due.original_text_expires_at) == ("", None)
        assert (due.modified_data, due.status) == ("User [REDACTED] logged in", STATUS_PROCESSED)
        assert due.expires_at == BASE_TIME + timedelta(days=30)
        assert log_store.get(tenant, "failing").original_text == ""
        later = log_store.get(tenant, "later")
        assert later.original_text == "User 555-0199 logged in"
        assert later.original_text_expires_at == BASE_TIME + timedelta(days=10)
        assert log_store.counts(tenant) == counts
        assert log_store.clear_expired_original_text(now=now) == 0

    @pytest.mark.usefixtures("sweep_deletes")
    def test_records_without_expiry_outlive_any_sweep(self, log_store, tenant):
        self._write(log_store, tenant, "forever")
        far_future = datetime(2999, 1, 1, tzinfo=UTC)

        until_done(lambda: log_store.delete_expired(now=far_future))
        until_done(lambda: log_store.clear_expired_original_text(now=far_future))

        assert log_store.get(tenant, "forever").original_text == "User 555-0199 logged in"

    def test_deleting_one_log_leaves_other_tenants_and_counts_follow(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        self._write(log_store, tenant, "shared")
        self._write(log_store, tenant, "kept")
        self._write(log_store, other_tenant, "shared")

        assert log_store.delete_log(tenant, "shared") is True

        assert log_store.get(tenant, "shared") is None
        assert log_store.get(other_tenant, "shared") is not None
        assert log_store.delete_log(tenant, "shared") is False
        assert log_store.delete_log(tenant, "never-was") is False
        assert log_store.counts(tenant)[STATUS_PROCESSED] == 1
        assert log_store.counts(other_tenant)[STATUS_PROCESSED] == 1
        assert log_store.activity([tenant], since=BASE_TIME) == [
            ActivityBucket(minute=BASE_TIME, received=1, processed=0),
            ActivityBucket(minute=BASE_TIME + timedelta(minutes=1), received=0, processed=1),
        ]

    def test_a_received_range_is_erased_in_batches_and_nothing_else(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        for minute in range(10):
            received_at = BASE_TIME + timedelta(minutes=minute)
            self._write(log_store, tenant, f"log-{minute}", received_at=received_at, processed=minute % 3 > 0)
            self._write(log_store, other_tenant, f"log-{minute}", received_at=received_at)
        after, before = BASE_TIME + timedelta(minutes=3), BASE_TIME + timedelta(minutes=7)

        erased = until_done(
            lambda: log_store.erase_logs(tenant, received_after=after, received_before=before, limit=3)
        )

        assert erased == 4
        left = {record.log_id for record in log_store.list_logs(tenant, limit=100).records}
        assert left == {f"log-{minute}" for minute in (0, 1, 2, 7, 8, 9)}
        assert len(log_store.list_logs(other_tenant, limit=100).records) == 10
        assert log_store.counts(tenant) == {STATUS_PROCESSED: 4, STATUS_RETRYING: 2, STATUS_DEAD_LETTERED: 0}
        received = {bucket.minute: bucket.received for bucket in log_store.activity([tenant], BASE_TIME)}
        assert {minute for minute, count in received.items() if count} == {
            BASE_TIME + timedelta(minutes=minute) for minute in (0, 1, 2, 7, 8, 9)
        }
        assert log_store.erase_logs(tenant, received_after=after, received_before=before) == 0

    def test_erasing_everything_of_a_tenant_empties_its_counts_list_and_chart(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        for index in range(7):
            self._write(log_store, tenant, f"log-{index}", processed=index % 2 == 0)
        self._write(log_store, other_tenant, "theirs")
        log_store.mark_dead_lettered(tenant, "log-1")

        assert until_done(lambda: log_store.erase_logs(tenant, limit=3)) == 7

        assert log_store.list_logs(tenant).records == []
        assert log_store.counts(tenant) == dict.fromkeys(STATUSES, 0)
        assert log_store.activity([tenant], since=BASE_TIME) == []
        listed = {summary.tenant_id for summary in log_store.list_tenants()}
        assert tenant not in listed
        assert other_tenant in listed
        assert log_store.recount([tenant, other_tenant]) == {}

    def test_iter_logs_reads_every_matching_record_page_by_page(self, log_store, tenant):
        expected = self._seed_list(log_store, tenant)

        every = [(record.received_at, record.log_id) for record in log_store.iter_logs(tenant, page_size=4)]
        retrying = list(log_store.iter_logs(tenant, status=STATUS_RETRYING, page_size=2))
        after = BASE_TIME + timedelta(seconds=14)
        ranged = list(log_store.iter_logs(tenant, received_after=after, page_size=3))

        assert every == expected
        assert [record.log_id for record in retrying] == [
            key[1] for key in expected if int(key[1][-2:]) % 4 == 0
        ]
        assert [(record.received_at, record.log_id) for record in ranged] == [
            key for key in expected if key[0] >= after
        ]
        with pytest.raises(ValueError):
            next(log_store.iter_logs(tenant, status="lost"))

    def test_search_matches_the_redacted_text_case_insensitively_never_the_original(self, log_store, tenant):
        other_tenant = new_tenant_id("other")
        self._write(log_store, tenant, "disk", text="Disk FULL on host web-1 for 555-0199")
        self._write(log_store, tenant, "cpu", text="cpu fine on host web-2")
        self._write(log_store, tenant, "pending", text="disk full again", processed=False)
        self._write(log_store, other_tenant, "disk", text="disk full elsewhere")
        window = {"received_after": BASE_TIME - timedelta(days=1)}

        found = log_store.search_logs(tenant, "disk full", **window)

        assert [record.log_id for record in found.records] == ["disk"]
        assert found.next_cursor is None
        assert [r.log_id for r in log_store.search_logs(tenant, "ON HOST", **window).records] == [
            "disk",
            "cpu",
        ]
        # The original text holds the number; the redacted text does not.
        assert log_store.search_logs(tenant, "555-0199", **window).records == []
        assert log_store.search_logs(tenant, "[redacted]", **window).records[0].log_id == "disk"
        assert log_store.search_logs(tenant, "absent", **window).records == []
        # Wildcards of SQL LIKE are plain characters.
        assert log_store.search_logs(tenant, "%", **window).records == []
        assert log_store.search_logs(tenant, "_", **window).records == []

    def test_search_combines_with_status_range_and_cursor_pages(self, log_store, tenant):
        for index in range(12):
            text = f"job {index} {'needle' if index % 2 else 'hay'} done"
            received_at = BASE_TIME + timedelta(seconds=index)
            self._write(log_store, tenant, f"log-{index:02d}", received_at=received_at, text=text)
        fail(log_store, make_envelope(tenant, "log-09", received_at=BASE_TIME + timedelta(seconds=9)))
        after = BASE_TIME + timedelta(seconds=2)
        before = BASE_TIME + timedelta(seconds=11)

        seen, cursor = [], None
        while True:
            page = log_store.search_logs(
                tenant,
                "NEEDLE",
                status=STATUS_PROCESSED,
                received_after=after,
                received_before=before,
                limit=2,
                cursor=cursor,
            )
            assert len(page.records) <= 2
            seen.extend(record.log_id for record in page.records)
            cursor = page.next_cursor
            if cursor is None:
                break

        # log-09 is processed already: the late failure changed nothing.
        assert seen == ["log-09", "log-07", "log-05", "log-03"]
        with pytest.raises(ValueError):
            log_store.search_logs(tenant, "needle", cursor="not-a-cursor!")
        with pytest.raises(ValueError):
            log_store.search_logs(tenant, "needle", status="lost")
