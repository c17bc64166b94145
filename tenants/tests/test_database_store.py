"""What the database log store promises beyond the shared contract: outages and query shapes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from tenants.stores import StoreUnavailable, database_rows, get_store
from tenants.stores.database import DatabaseLogStore
from tenants.tests.store_contract import BASE_TIME, fail, make_envelope, new_tenant_id, process

UNREACHABLE_ALIAS = "unreachable_log_store"


@pytest.fixture
def unreachable_store(django_db_blocker, tmp_path):
    """A store on a database alias whose SQLite file cannot be opened."""
    unreachable = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "missing-directory" / "store.sqlite3"),
    }
    connections.settings[UNREACHABLE_ALIAS] = connections.configure_settings(
        {"default": unreachable, UNREACHABLE_ALIAS: unreachable}
    )[UNREACHABLE_ALIAS]
    # Unblocked by hand: the test-database fixtures would insist on setting it up.
    with django_db_blocker.unblock():
        yield DatabaseLogStore(using=UNREACHABLE_ALIAS)
        connections[UNREACHABLE_ALIAS].close()
    del connections[UNREACHABLE_ALIAS]
    del connections.settings[UNREACHABLE_ALIAS]


STORE_CALLS = {
    "save_result": lambda store: process(store, make_envelope("acme", "1")),
    "record_failure": lambda store: fail(store, make_envelope("acme", "1")),
    "mark_dead_lettered": lambda store: store.mark_dead_lettered("acme", "1"),
    "mark_replayed": lambda store: store.mark_replayed("acme", "1"),
    "get": lambda store: store.get("acme", "1"),
    "list_logs": lambda store: store.list_logs("acme"),
    "counts": lambda store: store.counts("acme"),
    "list_tenants": lambda store: store.list_tenants(),
    "activity": lambda store: store.activity(None, since=BASE_TIME),
    "check": lambda store: store.check(),
}


@pytest.mark.parametrize("method", sorted(STORE_CALLS))
def test_every_call_reports_an_unreachable_database_as_store_unavailable(unreachable_store, method):
    with pytest.raises(StoreUnavailable):
        STORE_CALLS[method](unreachable_store)


@pytest.mark.django_db(transaction=True)
def test_the_check_fails_when_the_log_table_is_missing():
    # Outside a test transaction: on PostgreSQL the failed query would abort it.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tenants_storedlog RENAME TO tenants_storedlog_away")
    try:
        with pytest.raises(StoreUnavailable):
            DatabaseLogStore().check()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE tenants_storedlog_away RENAME TO tenants_storedlog")


def test_the_database_backend_is_the_default_store(settings):
    settings.LOG_STORE_BACKEND = "database"

    assert isinstance(get_store(), DatabaseLogStore)


def test_a_page_is_one_keyset_query_without_offset(db):
    store = DatabaseLogStore()
    tenant = new_tenant_id()
    for index in range(6):
        process(
            store, make_envelope(tenant, f"log-{index}", received_at=BASE_TIME + timedelta(seconds=index))
        )
    first = store.list_logs(tenant, limit=2)

    with CaptureQueriesContext(connection) as queries:
        second = store.list_logs(tenant, limit=2, cursor=first.next_cursor)

    assert [record.log_id for record in second.records] == ["log-3", "log-2"]
    assert len(queries) == 1
    assert "OFFSET" not in queries[0]["sql"].upper()


def test_page_size_is_capped(db, monkeypatch):
    monkeypatch.setattr(database_rows, "MAX_PAGE_SIZE", 3)
    store = DatabaseLogStore()
    tenant = new_tenant_id()
    for index in range(5):
        process(store, make_envelope(tenant, f"log-{index}"))

    page = store.list_logs(tenant, limit=10_000)

    assert len(page.records) == 3
    assert page.next_cursor is not None


def test_tenants_counts_and_activity_each_take_a_fixed_number_of_queries(db):
    store = DatabaseLogStore()
    for tenant_index in range(4):
        tenant = new_tenant_id(str(tenant_index))
        process(store, make_envelope(tenant, "ok"))
        fail(store, make_envelope(tenant, "retry"))

    with CaptureQueriesContext(connection) as queries:
        summaries = store.list_tenants()
    assert len(summaries) >= 4
    assert len(queries) == 1

    with CaptureQueriesContext(connection) as queries:
        store.counts(summaries[0].tenant_id)
    assert len(queries) == 1

    with CaptureQueriesContext(connection) as queries:
        store.activity(None, since=datetime.now(UTC) - timedelta(hours=1))
    assert len(queries) == 2


def test_overlong_ids_are_cut_to_their_columns_instead_of_failing_the_write(db):
    store = DatabaseLogStore()
    tenant = new_tenant_id()
    envelope = make_envelope(tenant, "log-1", request_id="r" * 500)

    assert store.save_result(
        envelope, modified_data="x", message_id="m" * 500, processed_at=datetime.now(UTC)
    )

    record = store.get(tenant, "log-1")
    assert (len(record.request_id), len(record.message_id)) == (200, 200)


def test_search_pages_are_capped_as_list_pages_are(db, monkeypatch):
    monkeypatch.setattr(database_rows, "MAX_PAGE_SIZE", 3)
    store = DatabaseLogStore()
    tenant = new_tenant_id()
    for index in range(5):
        process(store, make_envelope(tenant, f"log-{index}"))

    page = store.search_logs(tenant, "REDACTED", limit=10_000)

    assert len(page.records) == 3
    assert page.next_cursor is not None
