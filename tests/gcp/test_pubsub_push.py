"""``POST /pubsub/push``: token verification and the worker's rules, on the database store.

Tokens are real RS256 JWTs signed with a key generated here; the endpoint checks
them against that key's certificate (``ingest.push.certificate_source``).
The same deliveries on Firestore and Pub/Sub are in ``test_pubsub_push_emulators``.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from core.envelope import SOURCE_JSON, LogEnvelope
from tenants.stores import STATUS_PROCESSED, STATUS_RETRYING, get_store
from tests.gcp.tokens import (
    PUSH_AUDIENCE,
    PUSH_SERVICE_ACCOUNT,
    make_signing_key,
    push_body,
    push_claims,
    unsigned_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def signing_key():
    return make_signing_key("test-key-1")


@pytest.fixture(scope="module")
def impostor_key():
    """Another key presenting the same key id: its signatures must not verify."""
    return make_signing_key("test-key-1")


@pytest.fixture
def push_enabled(settings, monkeypatch, signing_key):
    settings.PUBSUB_PUSH_AUDIENCE = PUSH_AUDIENCE
    settings.PUBSUB_PUSH_SERVICE_ACCOUNT = PUSH_SERVICE_ACCOUNT
    settings.LOG_STORE_BACKEND = "database"
    monkeypatch.setattr(
        "ingest.push.certificate_source", lambda: {signing_key.key_id: signing_key.certificate_pem}
    )


def new_envelope(text: str = "User 555-0199 accessed the system") -> LogEnvelope:
    return LogEnvelope(
        tenant_id=f"push-{uuid.uuid4().hex[:8]}",
        log_id=uuid.uuid4().hex[:12],
        source=SOURCE_JSON,
        text=text,
        request_id="req-push",
    )


def push(client, envelope: LogEnvelope, token: str | None, *, message_id: str = "m-1", **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    body = push_body(envelope.to_bytes(), message_id=message_id, tenant_id=envelope.tenant_id, **extra)
    return client.post("/pubsub/push", data=json.dumps(body), content_type="application/json", **headers)


def test_the_endpoint_is_off_without_an_audience(client, settings, signing_key):
    settings.PUBSUB_PUSH_AUDIENCE = ""

    response = push(client, new_envelope(), signing_key.sign(push_claims()))

    assert response.status_code == 404


def test_a_signed_delivery_is_processed_and_acknowledged(client, push_enabled, signing_key):
    envelope = new_envelope()

    response = push(
        client, envelope, signing_key.sign(push_claims()), message_id="push-42", delivery_attempt=1
    )

    assert response.status_code == 204
    record = get_store().get(envelope.tenant_id, envelope.log_id)
    assert record.status == STATUS_PROCESSED
    assert record.modified_data == "User [REDACTED] accessed the system"
    assert record.original_text == envelope.text
    assert (record.message_id, record.attempts, record.request_id) == ("push-42", 1, "req-push")


def test_a_redelivered_push_changes_nothing(client, push_enabled, signing_key):
    envelope = new_envelope()
    token = signing_key.sign(push_claims())
    assert push(client, envelope, token, message_id="first").status_code == 204
    before = get_store().get(envelope.tenant_id, envelope.log_id)

    again = push(client, envelope, token, message_id="second")

    assert again.status_code == 204
    assert get_store().get(envelope.tenant_id, envelope.log_id) == before


def test_a_failed_attempt_asks_pubsub_to_redeliver(client, push_enabled, signing_key, settings):
    settings.PROCESSING_DEMO_FAILURES = True
    envelope = new_envelope("flaky [demo:fail=1] call 555-0199")
    token = signing_key.sign(push_claims())

    first = push(client, envelope, token, delivery_attempt=1)

    assert first.status_code == 503
    assert int(first["Retry-After"]) >= 1
    record = get_store().get(envelope.tenant_id, envelope.log_id)
    assert (record.status, record.attempts) == (STATUS_RETRYING, 1)
    assert "demo failure" in record.last_error

    second = push(client, envelope, token, delivery_attempt=2)

    assert second.status_code == 204
    record = get_store().get(envelope.tenant_id, envelope.log_id)
    assert (record.status, record.attempts) == (STATUS_PROCESSED, 2)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer not.a.jwt"],
    ids=["no-header", "empty", "basic", "empty-bearer", "garbage"],
)
def test_a_request_without_a_verifiable_bearer_token_is_refused(client, push_enabled, authorization):
    envelope = new_envelope()
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    body = push_body(envelope.to_bytes(), message_id="m-1")

    response = client.post("/pubsub/push", data=json.dumps(body), content_type="application/json", **headers)

    assert response.status_code == 401
    assert response.json()["error"] in ("not_authenticated", "invalid_token")
    assert get_store().get(envelope.tenant_id, envelope.log_id) is None


def test_an_unsigned_token_is_refused(client, push_enabled):
    envelope = new_envelope()

    response = push(client, envelope, unsigned_token(push_claims()))

    assert response.status_code == 401
    assert get_store().get(envelope.tenant_id, envelope.log_id) is None


def test_a_token_signed_with_another_key_is_refused(client, push_enabled, impostor_key):
    envelope = new_envelope()

    response = push(client, envelope, impostor_key.sign(push_claims()))

    assert response.status_code == 401
    assert get_store().get(envelope.tenant_id, envelope.log_id) is None


def test_a_token_with_an_unknown_key_id_is_refused(client, push_enabled, signing_key):
    response = push(client, new_envelope(), signing_key.sign(push_claims(), key_id="unknown-key"))

    assert response.status_code == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://someone-else.example/pubsub/push"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    ],
    ids=["wrong-audience", "wrong-issuer", "expired"],
)
def test_a_validly_signed_token_with_wrong_claims_is_refused(client, push_enabled, signing_key, claims):
    envelope = new_envelope()

    response = push(client, envelope, signing_key.sign(push_claims(**claims)))

    assert response.status_code == 401
    assert get_store().get(envelope.tenant_id, envelope.log_id) is None


@pytest.mark.parametrize(
    "claims",
    [{"email": "someone@dataproc-test.iam.gserviceaccount.com"}, {"email_verified": False}, {"email": None}],
    ids=["other-service-account", "unverified-email", "no-email"],
)
def test_a_token_for_another_identity_is_forbidden(client, push_enabled, signing_key, claims):
    envelope = new_envelope()

    response = push(client, envelope, signing_key.sign(push_claims(**claims)))

    assert response.status_code == 403
    assert get_store().get(envelope.tenant_id, envelope.log_id) is None


def test_without_a_configured_service_account_every_delivery_is_forbidden(
    client, push_enabled, signing_key, settings
):
    settings.PUBSUB_PUSH_SERVICE_ACCOUNT = ""

    response = push(client, new_envelope(), signing_key.sign(push_claims()))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b'{"message": "text"}', b'{"message": {"data": "%%%not-base64"}}'],
    ids=["not-json", "no-message", "message-not-object", "bad-base64"],
)
def test_a_body_that_is_not_a_push_envelope_is_a_bad_request(client, push_enabled, signing_key, body):
    response = client.post(
        "/pubsub/push",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {signing_key.sign(push_claims())}",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_only_post_is_allowed(client, push_enabled):
    assert client.get("/pubsub/push").status_code == 405


def test_a_token_from_a_rotated_key_refreshes_the_certificates_once(client, push_enabled, monkeypatch):
    rotated = make_signing_key("rotated-key")
    published: dict[str, str] = {}
    refreshes = []

    def refresh():
        refreshes.append(True)
        published[rotated.key_id] = rotated.certificate_pem  # Google now publishes the new key

    monkeypatch.setattr("ingest.push.certificate_source", lambda: dict(published))
    monkeypatch.setattr("ingest.push.certificate_refresh", refresh)

    response = push(client, new_envelope(), rotated.sign(push_claims()))

    assert response.status_code == 204
    assert len(refreshes) == 1


def test_googles_certificates_are_fetched_once_while_their_cache_lifetime_lasts(monkeypatch):
    from ingest import push as push_module

    fetches = []

    class FakeResponse:
        headers = {"Cache-Control": "public, max-age=3600, must-revalidate"}

        def raise_for_status(self):
            return None

        def json(self):
            return {"kid-1": "-----BEGIN CERTIFICATE-----..."}

    def fake_get(url, timeout):
        fetches.append(url)
        return FakeResponse()

    monkeypatch.setattr(push_module.requests, "get", fake_get)
    monkeypatch.setattr(push_module, "_certs_cache", None)
    monkeypatch.setattr(push_module, "_last_refresh", float("-inf"))

    assert push_module.fetch_google_certs() == {"kid-1": "-----BEGIN CERTIFICATE-----..."}
    push_module.fetch_google_certs()
    assert fetches == [push_module.GOOGLE_CERTS_URL]

    push_module.refresh_google_certs()
    push_module.refresh_google_certs()  # a second refresh within a minute is ignored
    push_module.fetch_google_certs()
    push_module.fetch_google_certs()
    assert len(fetches) == 2
