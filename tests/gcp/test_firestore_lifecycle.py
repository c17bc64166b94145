"""The Firestore store's data lifecycle beyond the shared contract.

- the queries it runs need only declared indexes, and none names ``expires_at`` (the
  TTL field, exempt from indexing: such a query would fail in production);
- production leaves expired records to the TTL policy, and ``recount`` corrects the
  counters of records the TTL policy deleted behind the store's back;
- the text search is a bounded scan: a received-at window and at most
  ``FIRESTORE_SEARCH_MAX_SCANNED`` records per page, said in ``SearchPage.bound``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore

from core.envelope import SOURCE_JSON, LogEnvelope
from core.records import STATUS_PROCESSED, STATUS_RETRYING, STATUSES, Retention
from tenants.stores.firestore import FirestoreLogStore
from tenants.stores.firestore_indexes import COLLECTION_GROUP, COMPOSITE_INDEXES, SINGLE_FIELD_INDEXES
from tests.emulators import free_port, unique_name
from tests.gcp.test_firestore_store import needed_index

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TTL_FIELD = "expires_at"


@pytest.fixture
def offline_store(monkeypatch):
    """A store whose client never connects: building queries needs no server."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    store = FirestoreLogStore()
    yield store
    store.close()


def fields_named(query) -> set[str]:
    """Every field a query filters or orders on."""
    structured = query._to_protobuf()
    filters = list(structured.where.composite_filter.filters) or [structured.where]
    named = {where.field_filter.field.field_path for where in filters if where.field_filter.field.field_path}
    return named | {order.field.field_path for order in structured.order_by}


def every_query(store: FirestoreLogStore) -> list:
    queries = [
        store.logs_query("t", status=status, received_after=after, received_before=before)
        for status in (None, STATUS_PROCESSED)
        for after in (None, NOW)
        for before in (None, NOW)
    ]
    queries += [
        store.original_text_sweep_query(NOW),
        store.activity_query(None, NOW),
        store.activity_query("t", NOW),
    ]
    return queries


def test_no_query_of_the_store_filters_or_orders_on_the_ttl_field(offline_store):
    for query in every_query(offline_store):
        assert TTL_FIELD not in fields_named(query)
    declared = {index.field_path for index in SINGLE_FIELD_INDEXES} | {
        field.field_path for index in COMPOSITE_INDEXES for field in index.fields
    }
    assert TTL_FIELD not in declared


def test_the_original_text_sweep_has_its_collection_group_index(offline_store):
    collection, scope, fields = needed_index(offline_store.original_text_sweep_query(NOW))

    assert (collection, scope, fields[0].field_path, fields[0].order) == (
        "processed_logs",
        COLLECTION_GROUP,
        "original_text_expires_at",
        "ASCENDING",
    )
    declared = {
        (index.collection_group, index.field_path, index.query_scope, index.order)
        for index in SINGLE_FIELD_INDEXES
    }
    assert (collection, "original_text_expires_at", COLLECTION_GROUP, "ASCENDING") in declared


# -- on the emulator ---------------------------------------------------------------------


def save(store, tenant_id: str, log_id: str, *, received_at: datetime, text: str = "disk full", **retention):
    envelope = LogEnvelope(tenant_id, log_id, SOURCE_JSON, text, received_at=received_at.isoformat())
    store.save_result(
        envelope,
        modified_data=text,
        message_id=f"m-{log_id}",
        processed_at=received_at + timedelta(seconds=1),
        retention=Retention(**retention),
    )


@pytest.mark.emulators
def test_in_production_expired_records_are_left_to_the_ttl_policy(firestore_log_store, settings):
    settings.FIRESTORE_EXPIRE_BY_SWEEP = False
    tenant = unique_name("ttl")
    save(firestore_log_store, tenant, "expired", received_at=NOW, expires_at=NOW + timedelta(days=1))

    assert firestore_log_store.delete_expired(now=NOW + timedelta(days=2)) == 0
    assert firestore_log_store.get(tenant, "expired") is not None


@pytest.mark.emulators
def test_recount_corrects_the_counts_of_records_deleted_without_them(
    firestore_log_store, settings, monkeypatch
):
    monkeypatch.setattr(FirestoreLogStore, "recount_lag_seconds", 0.0)
    tenant, steady = unique_name("drift"), unique_name("steady")
    for index in range(4):
        save(firestore_log_store, tenant, f"log-{index}", received_at=NOW)
    save(firestore_log_store, steady, "log-0", received_at=NOW)
    firestore_log_store.record_failure(
        LogEnvelope(tenant, "failing", SOURCE_JSON, "x", received_at=NOW.isoformat()),
        error="e",
        message_id="m",
    )
    # What Firestore's TTL policy does: delete documents, leaving the counters alone.
    raw = firestore.Client(project=settings.GOOGLE_CLOUD_PROJECT, database=settings.FIRESTORE_DATABASE)
    try:
        for log_id in ("log-0", "log-1", "failing"):
            raw.document("tenants", tenant, "processed_logs", log_id).delete()
    finally:
        raw.close()
    assert firestore_log_store.counts(tenant)[STATUS_PROCESSED] == 4

    corrections = firestore_log_store.recount([tenant, steady])

    assert corrections == {tenant: {STATUS_PROCESSED: -2, STATUS_RETRYING: -1}}
    assert firestore_log_store.counts(tenant) == {**dict.fromkeys(STATUSES, 0), STATUS_PROCESSED: 2}
    assert firestore_log_store.recount([tenant, steady]) == {}


@pytest.mark.emulators
def test_the_search_scans_at_most_the_bound_per_page_and_goes_on_from_there(firestore_log_store, settings):
    settings.FIRESTORE_SEARCH_MAX_SCANNED = 5
    tenant = unique_name("search")
    for index in range(12):
        text = f"job {index} {'needle' if index % 3 == 0 else 'hay'}"
        save(
            firestore_log_store,
            tenant,
            f"log-{index:02d}",
            received_at=NOW - timedelta(minutes=index),
            text=text,
        )

    pages, seen, cursor = [], [], None
    while True:
        page = firestore_log_store.search_logs(
            tenant, "NEEDLE", received_before=NOW + timedelta(seconds=1), limit=50, cursor=cursor
        )
        pages.append(page)
        seen.extend(record.log_id for record in page.records)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == ["log-00", "log-03", "log-06", "log-09"]
    assert [page.bound.scanned for page in pages] == [5, 5, 2]
    assert {page.bound.max_scanned for page in pages} == {5}
    assert pages[0].bound.received_after == NOW + timedelta(seconds=1) - timedelta(hours=24)


@pytest.mark.emulators
def test_without_received_from_the_search_window_is_the_last_day(firestore_log_store, settings):
    settings.FIRESTORE_SEARCH_WINDOW_HOURS = 24
    tenant = unique_name("window")
    save(firestore_log_store, tenant, "today", received_at=NOW - timedelta(hours=2))
    save(firestore_log_store, tenant, "last-week", received_at=NOW - timedelta(days=7))

    recent = firestore_log_store.search_logs(tenant, "disk", received_before=NOW)
    wider = firestore_log_store.search_logs(tenant, "disk", received_after=NOW - timedelta(days=8))

    assert [record.log_id for record in recent.records] == ["today"]
    assert recent.bound.received_after == NOW - timedelta(hours=24)
    assert [record.log_id for record in wider.records] == ["today", "last-week"]
    assert wider.bound.received_before is None
