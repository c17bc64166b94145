"""DELETE /logs/{log_id}: a tenant erases one of its own logs (204); another tenant's is not found."""

import pytest

from core.records import STATUS_PROCESSED
from ingest.tests.records import make_record
from tenants.stores import STATUSES

pytestmark = pytest.mark.django_db


def delete_log(client, log_id="123", **headers):
    return client.delete(f"/logs/{log_id}", headers=headers)


@pytest.mark.usefixtures("open_mode")
def test_it_erases_the_log_and_answers_204_without_a_body(client, store):
    store.load([make_record(), make_record(log_id="kept")])

    response = delete_log(client, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 204
    assert response.content == b""
    assert response["X-Request-ID"]
    assert store.get("acme", "123") is None
    assert store.get("acme", "kept") is not None
    assert store.counts("acme") == {**dict.fromkeys(STATUSES, 0), STATUS_PROCESSED: 1}
    assert client.get("/logs/123", headers={"X-Tenant-ID": "acme"}).status_code == 404


@pytest.mark.usefixtures("open_mode")
def test_erasing_it_again_is_404(client, store):
    store.load([make_record()])
    delete_log(client, **{"X-Tenant-ID": "acme"})

    response = delete_log(client, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.usefixtures("open_mode")
def test_another_tenants_log_is_not_found_and_stays(client, store):
    store.load([make_record(tenant_id="beta_inc")])

    assert delete_log(client, **{"X-Tenant-ID": "acme"}).status_code == 404
    assert store.get("beta_inc", "123") is not None


@pytest.mark.usefixtures("open_mode")
def test_open_mode_requires_the_tenant_header(client, store):
    store.load([make_record()])

    response = delete_log(client)

    assert response.status_code == 400
    assert "X-Tenant-ID" in response.json()["detail"]
    assert store.get("acme", "123") is not None


@pytest.mark.usefixtures("open_mode")
@pytest.mark.parametrize("log_id", ["__x__", "a" * 129, "%20", "..", "a%2Fb", "%00"])
def test_an_invalid_log_id_is_400_and_erases_nothing(client, store, log_id):
    store.load([make_record()])

    response = delete_log(client, log_id, **{"X-Tenant-ID": "acme"})

    assert response.status_code in (400, 404)
    assert response["Content-Type"].startswith("application/json")
    assert store.get("acme", "123") is not None


@pytest.mark.usefixtures("open_mode")
def test_a_store_outage_is_503_with_retry_after(client, settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    response = delete_log(client, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 503
    assert response["Retry-After"]


@pytest.mark.usefixtures("api_key_mode")
def test_with_api_keys_it_erases_the_keys_tenants_log(client, store, acme_key):
    store.load([make_record()])

    response = delete_log(client, Authorization=f"Bearer {acme_key}")

    assert response.status_code == 204
    assert store.get("acme", "123") is None


@pytest.mark.usefixtures("api_key_mode")
def test_with_api_keys_no_key_is_401_and_another_tenants_header_403(client, store, acme_key, beta):
    store.load([make_record(), make_record(tenant_id="beta_inc")])

    assert delete_log(client, **{"X-Tenant-ID": "acme"}).status_code == 401
    response = delete_log(client, **{"Authorization": f"Bearer {acme_key}", "X-Tenant-ID": "beta_inc"})
    assert response.status_code == 403
    assert store.get("beta_inc", "123") is not None
    assert store.get("acme", "123") is not None


@pytest.mark.usefixtures("api_key_mode")
def test_a_key_erases_only_its_own_tenants_log_of_a_shared_id(client, store, acme_key, beta_key):
    store.load([make_record(), make_record(tenant_id="beta_inc")])

    assert delete_log(client, Authorization=f"Bearer {beta_key}").status_code == 204

    assert store.get("beta_inc", "123") is None
    assert store.get("acme", "123") is not None


@pytest.mark.usefixtures("open_mode")
def test_other_methods_on_a_log_are_405(client, store):
    store.load([make_record()])

    for method in ("put", "patch", "post"):
        response = getattr(client, method)("/logs/123", headers={"X-Tenant-ID": "acme"})
        assert response.status_code == 405
