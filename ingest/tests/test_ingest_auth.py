"""INGEST_AUTH=api_key: a tenant's key, hashed and revocable, may only ingest for that tenant."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import Tenant, TenantAPIKey

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_key_mode")]


def payload(tenant_id="acme", log_id="1"):
    return json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "call 555-0199"})


def post(client, body=None, content_type="application/json", **headers):
    return client.post("/ingest", data=body or payload(), content_type=content_type, headers=headers)


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_a_request_without_a_key_gets_401_with_a_bearer_challenge(client, queue, acme):
    response = post(client)

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert queue.queued_envelopes() == []


@pytest.mark.parametrize(
    "key", ["nonsense", "abcdefgh.0123456789abcdef0123456789abcdef", "a.b.c", "ünïcode.key", "x" * 5000]
)
def test_an_unknown_key_gets_401(client, queue, acme, key):
    response = post(client, **{"X-API-Key": key})

    assert response.status_code == 401
    assert queue.queued_envelopes() == []


def test_a_valid_bearer_key_for_the_tenant_is_accepted(client, queue, acme_key):
    response = post(client, **bearer(acme_key))

    assert response.status_code == 202
    assert len(queue.queued_envelopes()) == 1


def test_a_valid_x_api_key_header_is_accepted(client, queue, acme_key):
    response = post(client, **{"X-API-Key": acme_key})

    assert response.status_code == 202


def test_the_bearer_scheme_is_case_insensitive(client, queue, acme_key):
    response = post(client, Authorization=f"bearer {acme_key}")

    assert response.status_code == 202


def test_only_the_hash_of_a_key_is_stored(acme_key):
    stored = TenantAPIKey.objects.get()

    assert acme_key not in (stored.hashed_key, stored.id)
    assert stored.is_valid(acme_key)


def test_a_key_for_another_tenant_gets_403(client, queue, acme_key, beta):
    response = post(client, payload(tenant_id="beta_inc"), **bearer(acme_key))

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "belongs to tenant 'acme'" in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_a_text_upload_for_another_tenant_gets_403(client, queue, acme_key, beta):
    response = post(client, "text", "text/plain", **{**bearer(acme_key), "X-Tenant-ID": "beta_inc"})

    assert response.status_code == 403
    assert queue.queued_envelopes() == []


def test_a_line_of_a_batch_naming_another_tenant_is_rejected_and_never_queued(client, queue, acme_key, beta):
    body = "\n".join([payload(log_id="1"), payload(log_id="2"), payload(tenant_id="beta_inc", log_id="3")])

    response = post(client, body, "application/x-ndjson", **bearer(acme_key))

    assert response.status_code == 202
    assert response.json()["errors"] == [
        {
            "index": 2,
            "error": "forbidden_tenant",
            "detail": "this API key belongs to tenant 'acme', not 'beta_inc'.",
        }
    ]
    assert {envelope.tenant_id for envelope in queue.queued_envelopes()} == {"acme"}


def test_a_batch_only_for_another_tenant_is_403(client, queue, acme_key, beta):
    body = "\n".join([payload(tenant_id="beta_inc", log_id="1"), payload(tenant_id="beta_inc", log_id="2")])

    response = post(client, body, "application/x-ndjson", **bearer(acme_key))

    assert response.status_code == 403
    assert [error["error"] for error in response.json()["errors"]] == ["forbidden_tenant"] * 2
    assert queue.queued_envelopes() == []


def test_records_without_a_tenant_are_the_keys(client, queue, acme_key):
    body = json.dumps([{"message": "one"}, {"message": "two", "log_id": "2"}])

    response = post(client, body, **bearer(acme_key))

    assert response.status_code == 202
    assert [envelope.tenant_id for envelope in queue.queued_envelopes()] == ["acme", "acme"]


def test_a_text_upload_needs_no_tenant_header_with_a_key(client, queue, acme_key):
    response = post(client, "text", "text/plain", **bearer(acme_key))

    assert response.status_code == 202
    assert queue.queued_envelopes()[0].tenant_id == "acme"


def test_an_x_tenant_id_naming_another_tenant_than_the_key_is_403_for_any_body(client, queue, acme_key, beta):
    body = json.dumps([{"message": "one"}])

    response = post(client, body, **{**bearer(acme_key), "X-Tenant-ID": "beta_inc"})

    assert response.status_code == 403
    assert response.json()["detail"] == "This API key belongs to tenant 'acme', not 'beta_inc'."
    assert queue.queued_envelopes() == []


def test_a_batch_of_the_keys_tenant_is_accepted(client, queue, acme_key):
    body = "\n".join([payload(log_id="1"), payload(log_id="2")])

    response = post(client, body, "application/x-ndjson", **bearer(acme_key))

    assert response.status_code == 202
    assert response.json()["accepted"] == 2


def test_an_inactive_tenant_gets_403(client, queue, acme, acme_key):
    acme.active = False
    acme.save()

    response = post(client, **bearer(acme_key))

    assert response.status_code == 403
    assert "inactive" in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_deactivating_a_tenant_takes_effect_at_once_in_this_process(client, queue, acme, acme_key):
    assert post(client, **bearer(acme_key)).status_code == 202

    acme.active = False
    acme.save()

    assert post(client, payload(log_id="2"), **bearer(acme_key)).status_code == 403


def test_a_revoked_key_gets_401_even_after_it_was_cached(client, queue, acme_key):
    assert post(client, **bearer(acme_key)).status_code == 202

    stored = TenantAPIKey.objects.get()
    stored.revoked = True
    stored.save()

    response = post(client, payload(log_id="2"), **bearer(acme_key))
    assert response.status_code == 401
    assert len(queue.queued_envelopes()) == 1


def test_an_expired_key_gets_401(client, queue, acme):
    _, key = TenantAPIKey.objects.create_key(
        name="old", tenant=acme, expiry_date=timezone.now() - timedelta(minutes=1)
    )

    assert post(client, **bearer(key)).status_code == 401


def test_api_key_mode_never_registers_tenants(client, queue, acme_key):
    response = post(client, payload(tenant_id="stranger"), **bearer(acme_key))

    assert response.status_code == 403
    assert not Tenant.objects.filter(pk="stranger").exists()


def test_a_cached_key_and_tenant_cost_no_queries(client, queue, acme_key, django_assert_num_queries):
    post(client, **bearer(acme_key))

    with django_assert_num_queries(0):
        response = post(client, payload(log_id="2"), **bearer(acme_key))

    assert response.status_code == 202


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wrong_method_is_405_even_without_a_key(client, queue, method):
    response = client.generic(method, "/ingest")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_the_key_is_checked_before_the_body_is_read(client, queue, acme, settings):
    settings.INGEST_MAX_BODY_BYTES = 10

    response = post(client, payload())

    assert response.status_code == 401


def test_a_request_refused_before_its_body_is_read_is_counted_for_the_keys_tenant(client, queue, acme_key):
    from prometheus_client import REGISTRY

    labels = {"method": "POST", "route": "ingest", "status": "413", "tenant": "acme"}
    before = REGISTRY.get_sample_value("dataproc_http_requests_total", labels) or 0

    post(client, payload(), CONTENT_LENGTH=str(50 * 1024 * 1024), **bearer(acme_key))

    assert REGISTRY.get_sample_value("dataproc_http_requests_total", labels) == before + 1
