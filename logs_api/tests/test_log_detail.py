"""GET /logs/{log_id}: one stored log for its own tenant, redacted, never the original text."""

import pytest

from core.records import STATUS_RETRYING
from ingest.tests.records import make_record
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def get_log(client, log_id="123", **headers):
    return client.get(f"/logs/{log_id}", headers=headers)


@pytest.mark.usefixtures("open_mode")
def test_it_returns_the_record_with_status_and_redacted_text(client, store):
    store.load([make_record()])

    response = get_log(client, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "processed"
    assert body["modified_data"] == "User [REDACTED] accessed the system"
    assert body["tenant_id"] == "acme"
    assert body["log_id"] == "123"
    assert body["source"] == "json_upload"
    assert body["received_at"] == "2026-11-01T12:00:00Z"


@pytest.mark.usefixtures("open_mode")
def test_it_never_returns_the_original_text(client, store):
    store.load([make_record()])

    response = get_log(client, **{"X-Tenant-ID": "acme"})

    assert "original_text" not in response.json()
    assert "555-0199" not in response.content.decode()


@pytest.mark.usefixtures("open_mode")
def test_a_retrying_log_shows_its_attempts_and_no_text_yet(client, store):
    store.load([make_record(status=STATUS_RETRYING, attempts=2, last_error="demo failure")])

    body = get_log(client, **{"X-Tenant-ID": "acme"}).json()

    assert (body["status"], body["attempts"], body["last_error"]) == ("retrying", 2, "demo failure")
    assert body["modified_data"] is None
    assert body["processed_at"] is None


@pytest.mark.usefixtures("open_mode")
def test_an_unknown_log_is_a_json_404_explaining_when_logs_appear(client, store):
    response = get_log(client, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "once the worker has taken it" in response.json()["detail"]


@pytest.mark.usefixtures("open_mode")
def test_another_tenants_log_is_not_found(client, store):
    store.load([make_record(tenant_id="beta_inc")])

    assert get_log(client, **{"X-Tenant-ID": "acme"}).status_code == 404


@pytest.mark.usefixtures("open_mode")
def test_open_mode_requires_the_tenant_header(client, store):
    response = get_log(client)

    assert response.status_code == 400
    assert "X-Tenant-ID" in response.json()["detail"]


@pytest.mark.usefixtures("open_mode")
@pytest.mark.parametrize("log_id", ["__x__", "a" * 129, "%20"])
def test_an_invalid_log_id_is_400(client, store, log_id):
    assert get_log(client, log_id, **{"X-Tenant-ID": "acme"}).status_code == 400


@pytest.mark.usefixtures("open_mode")
def test_an_inactive_tenant_is_403(client, store):
    Tenant.objects.create(id="acme", active=False)
    store.load([make_record()])

    assert get_log(client, **{"X-Tenant-ID": "acme"}).status_code == 403


@pytest.mark.usefixtures("open_mode")
def test_reading_does_not_register_a_tenant(client, store):
    get_log(client, **{"X-Tenant-ID": "curious"})

    assert not Tenant.objects.filter(pk="curious").exists()


@pytest.mark.usefixtures("open_mode")
def test_a_store_outage_is_503_with_retry_after(client, settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    response = get_log(client, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 503
    assert response["Retry-After"]


@pytest.mark.usefixtures("api_key_mode")
def test_api_key_mode_reads_the_keys_tenant(client, store, acme_key):
    store.load([make_record()])

    response = get_log(client, Authorization=f"Bearer {acme_key}")

    assert response.status_code == 200
    assert response.json()["tenant_id"] == "acme"


@pytest.mark.usefixtures("api_key_mode")
def test_api_key_mode_without_a_key_is_401(client, store, acme):
    assert get_log(client, **{"X-Tenant-ID": "acme"}).status_code == 401


@pytest.mark.usefixtures("api_key_mode")
def test_api_key_mode_refuses_another_tenants_header(client, store, acme_key, beta):
    store.load([make_record(tenant_id="beta_inc")])

    response = get_log(client, **{"Authorization": f"Bearer {acme_key}", "X-Tenant-ID": "beta_inc"})

    assert response.status_code == 403


@pytest.mark.usefixtures("open_mode")
def test_it_reads_from_the_database_store(client, settings):
    from datetime import UTC, datetime

    from core.envelope import LogEnvelope
    from tenants.stores import get_store

    settings.LOG_STORE_BACKEND = "database"
    envelope = LogEnvelope(tenant_id="acme", log_id="123", source="json_upload", text="call 555-0199")
    get_store().save_result(
        envelope, modified_data="call [REDACTED]", message_id="m1", processed_at=datetime.now(UTC)
    )

    body = get_log(client, **{"X-Tenant-ID": "acme"}).json()

    assert body["status"] == "processed"
    assert body["modified_data"] == "call [REDACTED]"
    assert body["message_id"] == "m1"


@pytest.mark.usefixtures("open_mode")
def test_it_returns_the_event_time_severity_and_redacted_attributes(client, store):
    from datetime import UTC, datetime

    store.load(
        [
            make_record(
                event_time=datetime(2026, 10, 31, 23, 59, 1, 250000, tzinfo=UTC),
                severity="warn",
                attributes={"host": "web-1", "caller": "[REDACTED]", "attempt": 2},
            )
        ]
    )

    body = get_log(client, **{"X-Tenant-ID": "acme"}).json()

    assert body["event_time"] == "2026-10-31T23:59:01.250000Z"
    assert body["severity"] == "warn"
    assert body["attributes"] == {"host": "web-1", "caller": "[REDACTED]", "attempt": 2}


@pytest.mark.usefixtures("open_mode")
def test_a_log_not_processed_yet_shows_no_attributes_as_they_are_not_redacted_yet(client, store):
    store.load([make_record(status=STATUS_RETRYING, attributes={"caller": "555-0199"})])

    body = get_log(client, **{"X-Tenant-ID": "acme"}).json()

    assert body["attributes"] == {}
    assert "555-0199" not in str(body)


@pytest.mark.usefixtures("open_mode")
def test_a_log_without_event_time_says_null(client, store):
    store.load([make_record()])

    body = get_log(client, **{"X-Tenant-ID": "acme"}).json()

    assert (body["event_time"], body["severity"], body["attributes"]) == (None, "", {})
