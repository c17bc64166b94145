"""Tenant A's API key never reads tenant B's logs, whatever form the tenant or log id takes.

Writes across tenants are refused in tests/test_hostile_requests.py; this is the
read side (``GET /logs``, ``GET /logs/{log_id}``, the NDJSON export) and erasure
(``DELETE /logs/{log_id}``), on the database store and on Firestore, where a tenant id or log id that escaped its path segment would
reach another tenant's documents (``tenants/{tenant}/processed_logs/{log}``).
Every answer is checked for the other tenant's data, not only for its status.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from core.envelope import SOURCE_JSON, LogEnvelope
from tenants.models import Tenant, TenantAPIKey
from tenants.stores import get_store

A_TEXT = "acme note 555-0100"
B_SECRET = "beta_inc confidential 555-0199 payroll"
B_REDACTED = "beta_inc confidential [REDACTED] payroll"


@pytest.fixture(
    params=[
        "database",
        pytest.param("firestore", marks=pytest.mark.emulators),
    ]
)
def two_tenants(request, settings, db):
    """acme and beta_inc with keys; each has a log "shared" and one of its own."""
    if request.param == "firestore":
        request.getfixturevalue("firestore_emulator")
    settings.LOG_STORE_BACKEND = request.param
    settings.INGEST_AUTH = "api_key"
    suffix = uuid.uuid4().hex[:6]
    acme, beta = f"acme-{suffix}", f"beta_inc-{suffix}"
    keys = {}
    for tenant_id in (acme, beta):
        tenant = Tenant.objects.create(id=tenant_id)
        keys[tenant_id] = TenantAPIKey.objects.create_key(name="read", tenant=tenant)[1]
    store = get_store()
    for tenant_id, log_id, text, redacted in [
        (acme, "shared", A_TEXT, "acme note [REDACTED]"),
        (acme, "a-only", A_TEXT, "acme note [REDACTED]"),
        (beta, "shared", B_SECRET, B_REDACTED),
        (beta, "b-secret", B_SECRET, B_REDACTED),
    ]:
        store.save_result(
            LogEnvelope(tenant_id, log_id, SOURCE_JSON, text),
            modified_data=redacted,
            message_id=f"m-{log_id}",
            processed_at=timezone.now(),
        )
    return acme, beta, keys


def assert_no_trace_of(beta: str, response) -> None:
    body = response.content.decode(errors="replace")
    assert B_SECRET not in body and B_REDACTED not in body
    if response.status_code == 200:
        payload = response.json()
        records = payload.get("items", [payload])
        assert all(record["tenant_id"] != beta for record in records)


def test_a_key_reads_its_own_logs_only(two_tenants):
    acme, beta, keys = two_tenants
    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}")

    listing = client.get("/logs")
    shared = client.get("/logs/shared")

    assert listing.status_code == 200
    assert sorted(record["log_id"] for record in listing.json()["items"]) == ["a-only", "shared"]
    assert {record["tenant_id"] for record in listing.json()["items"]} == {acme}
    assert (shared.status_code, shared.json()["tenant_id"]) == (200, acme)
    assert shared.json()["modified_data"] == "acme note [REDACTED]"
    assert_no_trace_of(beta, listing)
    assert_no_trace_of(beta, shared)


def test_another_tenants_log_is_not_found_rather_than_forbidden(two_tenants):
    acme, beta, keys = two_tenants
    response = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}").get("/logs/b-secret")
    assert response.status_code == 404
    assert_no_trace_of(beta, response)


def tenant_header_forms(beta: str) -> list[str]:
    return [
        beta,
        beta.upper(),
        f" {beta}",
        f"{beta} ",
        f"{beta}/",
        f"../{beta}",
        f"acme/../{beta}",
        f"{beta}/processed_logs/b-secret",
        f"tenants/{beta}",
        f"__{beta}__",
        f"{beta}%2F..",
        f"{beta}\t",
        f"{beta},acme",
        "..",
        ".",
        "*",
    ]


@pytest.mark.parametrize("path", ["/logs", "/logs/b-secret", "/logs/shared"])
def test_no_form_of_the_other_tenant_id_in_x_tenant_id_reaches_its_logs(two_tenants, path):
    acme, beta, keys = two_tenants
    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}")
    for form in tenant_header_forms(beta):
        response = client.get(path, HTTP_X_TENANT_ID=form)
        assert response.status_code in (400, 403), (form, response.status_code)
        assert response.json()["error"]
        assert_no_trace_of(beta, response)


LOG_PATHS = [
    "/logs/..%2Fb-secret",
    "/logs/%2E%2E",
    "/logs/%2E",
    "/logs/b-secret%00",
    "/logs/b-secret%2F",
    "/logs/..%5Cb-secret",
    "/logs/__b-secret__",
    "/logs/__name__",
    "/logs/b-secret%0A",
    "/logs/" + "b" * 129,
]


@pytest.mark.parametrize("path", LOG_PATHS)
def test_no_form_of_a_log_id_escapes_the_keys_tenant(two_tenants, path):
    acme, beta, keys = two_tenants
    response = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}").get(path)
    assert response.status_code in (400, 404), response.status_code
    assert_no_trace_of(beta, response)


@pytest.mark.parametrize(
    "path_forms",
    [
        lambda beta: f"/logs/tenants%2F{beta}%2Fprocessed_logs%2Fb-secret",
        lambda beta: f"/logs/..%2F..%2F{beta}%2Fprocessed_logs%2Fb-secret",
        lambda beta: f"/logs?tenant_id={beta}",
        lambda beta: f"/logs?X-Tenant-ID={beta}",
        lambda beta: f"/logs/b-secret?tenant_id={beta}",
    ],
)
def test_a_path_or_query_naming_the_other_tenant_changes_nothing(two_tenants, path_forms):
    acme, beta, keys = two_tenants
    response = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}").get(path_forms(beta))
    assert response.status_code in (200, 400, 404)
    assert_no_trace_of(beta, response)


def test_presenting_both_tenants_keys_never_mixes_them(two_tenants):
    acme, beta, keys = two_tenants
    both = Client().get(
        "/logs", HTTP_AUTHORIZATION=f"Bearer {keys[acme]}", HTTP_X_API_KEY=keys[beta]
    )  # the Authorization header wins
    assert both.status_code == 200
    assert_no_trace_of(beta, both)
    two_in_one = Client().get("/logs", HTTP_AUTHORIZATION=f"Bearer {keys[acme]}, Bearer {keys[beta]}")
    assert two_in_one.status_code == 401


def test_a_revoked_key_reads_nothing_even_of_its_own_tenant(two_tenants):
    _, beta, keys = two_tenants
    TenantAPIKey.objects.filter(tenant_id=beta).update(revoked=True)
    revoked = Client(HTTP_AUTHORIZATION=f"Bearer {keys[beta]}").get("/logs/b-secret")
    assert revoked.status_code == 401
    assert_no_trace_of(beta, revoked)


# -- erasure and export ------------------------------------------------------------------


def beta_untouched(beta: str) -> None:
    store = get_store()
    assert [store.get(beta, log_id) is not None for log_id in ("shared", "b-secret")] == [True, True]


def test_a_key_erases_its_own_log_and_never_the_other_tenants(two_tenants):
    acme, beta, keys = two_tenants
    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}")

    own = client.delete("/logs/shared")
    theirs = client.delete("/logs/b-secret")

    assert (own.status_code, theirs.status_code) == (204, 404)
    assert get_store().get(acme, "shared") is None
    assert_no_trace_of(beta, theirs)
    beta_untouched(beta)


@pytest.mark.parametrize("path", ["/logs/b-secret", "/logs/shared"])
def test_no_form_of_the_other_tenant_id_erases_its_logs(two_tenants, path):
    acme, beta, keys = two_tenants
    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}")
    for form in tenant_header_forms(beta):
        response = client.delete(path, HTTP_X_TENANT_ID=form)
        assert response.status_code in (400, 403), (form, response.status_code)
        assert_no_trace_of(beta, response)
    beta_untouched(beta)


@pytest.mark.parametrize("path", LOG_PATHS)
def test_no_form_of_a_log_id_erases_outside_the_keys_tenant(two_tenants, path):
    acme, beta, keys = two_tenants
    response = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}").delete(path)
    assert response.status_code in (400, 404), response.status_code
    beta_untouched(beta)


def test_the_export_streams_the_keys_tenant_only(two_tenants):
    acme, beta, keys = two_tenants
    client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[acme]}")

    export = client.get("/logs?format=ndjson")
    body = b"".join(export.streaming_content).decode()

    assert sorted(json.loads(line)["log_id"] for line in body.splitlines()) == ["a-only", "shared"]
    assert B_SECRET not in body and B_REDACTED not in body and beta not in body
    for form in tenant_header_forms(beta):
        response = client.get("/logs?format=ndjson", HTTP_X_TENANT_ID=form)
        assert response.status_code in (400, 403), (form, response.status_code)
        assert_no_trace_of(beta, response)
