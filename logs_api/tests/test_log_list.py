"""GET /logs: the tenant's logs newest first, filtered by status, paged by cursor."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from core.envelope import LogEnvelope
from core.records import STATUS_DEAD_LETTERED, STATUS_RETRYING
from ingest.tests.records import make_record
from tenants.stores import get_store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]


def list_logs(client, tenant_id="acme", **params):
    return client.get("/logs", params, headers={"X-Tenant-ID": tenant_id})


def test_it_lists_the_tenants_logs_newest_first(client, store):
    for minute in range(3):
        store.load([make_record(log_id=f"log-{minute}", minutes=minute)])
    store.load([make_record(tenant_id="beta_inc", log_id="other")])

    body = list_logs(client).json()

    assert [item["log_id"] for item in body["items"]] == ["log-2", "log-1", "log-0"]
    assert body["next"] is None
    assert all("original_text" not in item for item in body["items"])


def test_it_filters_by_status(client, store):
    store.load([make_record(log_id="ok")])
    store.load([make_record(log_id="dead", status=STATUS_DEAD_LETTERED, minutes=1)])
    store.load([make_record(log_id="again", status=STATUS_RETRYING, minutes=2)])

    body = list_logs(client, status="dead_lettered").json()

    assert [item["log_id"] for item in body["items"]] == ["dead"]


def test_it_pages_with_the_next_cursor(client, store):
    for minute in range(5):
        store.load([make_record(log_id=f"log-{minute}", minutes=minute)])

    first = list_logs(client, limit=2).json()
    second = list_logs(client, limit=2, cursor=first["next"]).json()
    third = list_logs(client, limit=2, cursor=second["next"]).json()

    assert [item["log_id"] for item in first["items"] + second["items"] + third["items"]] == [
        "log-4",
        "log-3",
        "log-2",
        "log-1",
        "log-0",
    ]
    assert third["next"] is None


def test_an_empty_tenant_gets_an_empty_page(client, store):
    assert list_logs(client, tenant_id="nobody").json() == {"items": [], "next": None}


@pytest.mark.parametrize(
    "params", [{"status": "weird"}, {"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"cursor": "bogus"}]
)
def test_bad_parameters_are_400(client, store, params):
    response = list_logs(client, **params)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_open_mode_requires_the_tenant_header(client, store):
    assert client.get("/logs").status_code == 400


def test_a_store_outage_is_503(client, settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    response = list_logs(client)

    assert response.status_code == 503
    assert response["Retry-After"]


def test_it_pages_through_the_database_store(client, settings):
    settings.LOG_STORE_BACKEND = "database"
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for number in range(5):
        envelope = LogEnvelope(
            tenant_id="acme",
            log_id=f"log-{number}",
            source="text_upload",
            text="x",
            received_at=(start + timedelta(seconds=number)).isoformat(),
        )
        get_store().save_result(envelope, modified_data="x", message_id=str(number), processed_at=start)

    first = list_logs(client, limit=3).json()
    second = list_logs(client, limit=3, cursor=first["next"]).json()

    assert [item["log_id"] for item in first["items"]] == ["log-4", "log-3", "log-2"]
    assert [item["log_id"] for item in second["items"]] == ["log-1", "log-0"]
    assert second["next"] is None
    assert list_logs(client, cursor="not-a-cursor").status_code == 400


def test_a_forged_cursor_is_400_not_500_on_the_database_store(client, settings):
    settings.LOG_STORE_BACKEND = "database"
    # Well-formed for the store's decoder, but with a NUL PostgreSQL cannot compare.
    raw = json.dumps(["2026-11-01T00:00:00+00:00", "a\u0000b"]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    response = list_logs(client, cursor=cursor)

    assert response.status_code < 500


def test_a_cursor_the_store_cannot_query_is_400(client, settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.DataErrorStore"

    response = list_logs(client, cursor="anything")

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]
