"""What the Firestore store does beyond the shared contract: layout, counters, indexes, outages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from google.cloud import firestore

from tenants.stores import STATUS_PROCESSED, STATUS_RETRYING, StoreUnavailable
from tenants.stores.firestore import FirestoreLogStore
from tenants.stores.firestore_indexes import (
    COLLECTION,
    COLLECTION_GROUP,
    COMPOSITE_INDEXES,
    SINGLE_FIELD_INDEXES,
    IndexField,
)
from tests.emulators import free_port
from tests.gcp.helpers import new_envelope

SPECIFIED_FIELDS = {"source", "original_text", "modified_data", "processed_at"}
STATUS_FIELDS = {"status", "attempts", "last_error", "received_at", "message_id", "request_id"}


def raw_client(settings) -> firestore.Client:
    return firestore.Client(project=settings.GOOGLE_CLOUD_PROJECT, database=settings.FIRESTORE_DATABASE)


def process(store, envelope) -> bool:
    return store.save_result(
        envelope, modified_data="redacted", message_id="m-1", processed_at=datetime.now(UTC)
    )


# -- indexes: derived from the queries themselves, no emulator needed ------------------


def needed_index(query) -> tuple[str, str, tuple[IndexField, ...]] | None:
    """The index Firestore needs for ``query`` beyond the automatic single-field ones, if any."""
    structured = query._to_protobuf()
    source = structured.from_[0]
    equalities, inequalities = [], []
    filters = list(structured.where.composite_filter.filters) or [structured.where]
    for where in filters:
        field_filter = where.field_filter
        if not field_filter.field.field_path:
            continue
        target = equalities if field_filter.op.name == "EQUAL" else inequalities
        target.append(field_filter.field.field_path)
    fields = [IndexField(path, "ASCENDING") for path in dict.fromkeys(equalities)]
    for order in structured.order_by:
        if order.field.field_path not in equalities:
            fields.append(IndexField(order.field.field_path, order.direction.name))
    for path in inequalities:
        if all(field.field_path != path for field in fields):
            fields.append(IndexField(path, "ASCENDING"))
    scope = COLLECTION_GROUP if source.all_descendants else COLLECTION
    named = [field for field in fields if field.field_path != "__name__"]
    if len(named) <= 1 and scope == COLLECTION:
        return None  # served by the automatic single-field index
    if named and fields[-1].field_path != "__name__":
        fields.append(IndexField("__name__", fields[-1].order))
    return (source.collection_id, scope, tuple(fields))


@pytest.fixture
def offline_store(monkeypatch, settings):
    """A store whose client never connects: building queries needs no server."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    store = FirestoreLogStore()
    yield store
    store.close()


@pytest.mark.parametrize("status", [None, STATUS_PROCESSED])
@pytest.mark.parametrize("window", ["none", "after", "before", "both"])
def test_every_log_list_query_is_served_by_a_declared_index(offline_store, status, window):
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    query = offline_store.logs_query(
        "tenant",
        status=status,
        received_after=moment if window in ("after", "both") else None,
        received_before=moment if window in ("before", "both") else None,
    )

    needed = needed_index(query)

    declared = {(index.collection_group, index.query_scope, index.fields) for index in COMPOSITE_INDEXES}
    assert needed is None or needed in declared, f"undeclared index {needed}"


def test_the_every_tenant_activity_query_has_its_collection_group_index(offline_store):
    collection, scope, fields = needed_index(offline_store.activity_query(None, datetime.now(UTC)))

    assert scope == COLLECTION_GROUP
    declared = {
        (index.collection_group, index.field_path, index.query_scope) for index in SINGLE_FIELD_INDEXES
    }
    assert (collection, fields[0].field_path, COLLECTION_GROUP) in declared
    assert needed_index(offline_store.activity_query("tenant", datetime.now(UTC))) is None


def test_every_declared_index_is_needed_by_some_query(offline_store):
    moment = datetime.now(UTC)
    needed = {
        needed_index(offline_store.logs_query("t", status=status, received_after=after))
        for status in (None, STATUS_PROCESSED)
        for after in (None, moment)
    }

    for index in COMPOSITE_INDEXES:
        assert (index.collection_group, index.query_scope, index.fields) in needed, index


# -- an unreachable Firestore ------------------------------------------------------------


def test_an_unreachable_firestore_is_store_unavailable(offline_store, monkeypatch):
    monkeypatch.setattr(FirestoreLogStore, "timeout_seconds", 1.0)
    monkeypatch.setattr(FirestoreLogStore, "check_timeout_seconds", 1.0)
    envelope = new_envelope()

    with pytest.raises(StoreUnavailable):
        offline_store.check()
    with pytest.raises(StoreUnavailable):
        offline_store.get(envelope.tenant_id, envelope.log_id)
    with pytest.raises(StoreUnavailable):
        process(offline_store, envelope)
    with pytest.raises(StoreUnavailable):
        offline_store.record_failure(envelope, error="boom", message_id="m-1")


# -- layout on the emulator ---------------------------------------------------------------


@pytest.mark.emulators
def test_a_processed_log_is_a_document_under_its_tenant_with_the_specified_fields(
    firestore_log_store, settings
):
    envelope = new_envelope()
    process(firestore_log_store, envelope)

    client = raw_client(settings)
    try:
        document = client.document("tenants", envelope.tenant_id, "processed_logs", envelope.log_id).get()
        parent = client.document("tenants", envelope.tenant_id).get()
    finally:
        client.close()

    assert document.exists and parent.exists
    assert set(document.to_dict()) >= SPECIFIED_FIELDS | STATUS_FIELDS
    assert document.get("original_text") == envelope.text
    assert document.get("status") == STATUS_PROCESSED
    assert parent.get("tenant_id") == envelope.tenant_id


@pytest.mark.emulators
def test_counts_are_read_from_counters_not_by_scanning_logs(firestore_log_store, settings):
    tenant = f"counters-{uuid.uuid4().hex[:8]}"
    envelopes = [new_envelope(tenant_id=tenant) for _ in range(3)]
    for envelope in envelopes:
        process(firestore_log_store, envelope)
    firestore_log_store.record_failure(new_envelope(tenant_id=tenant), error="boom", message_id="m-2")

    # Remove a log behind the store's back: a scan would notice, counters do not.
    client = raw_client(settings)
    try:
        client.document("tenants", tenant, "processed_logs", envelopes[0].log_id).delete()
    finally:
        client.close()

    assert firestore_log_store.counts(tenant)[STATUS_PROCESSED] == 3
    assert firestore_log_store.counts(tenant)[STATUS_RETRYING] == 1


@pytest.mark.emulators
def test_firestore_database_selects_a_named_database(firestore_emulator, settings):
    settings.FIRESTORE_DATABASE = f"dataproc-{uuid.uuid4().hex[:6]}"
    named = FirestoreLogStore()
    envelope = new_envelope()
    try:
        process(named, envelope)
        assert named.get(envelope.tenant_id, envelope.log_id) is not None
    finally:
        named.close()

    settings.FIRESTORE_DATABASE = "(default)"
    default = FirestoreLogStore()
    try:
        assert default.get(envelope.tenant_id, envelope.log_id) is None
    finally:
        default.close()
