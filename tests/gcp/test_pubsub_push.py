"""``POST /pubsub/push``: token verification and the worker's rules, on the database store.

Tokens are real RS256 JWTs signed with a key generated here; the endpoint checks
them against that key's certificate (``processing.push.tokens.certificate_transport``).
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
    CertificatesTransport,
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
    transport = CertificatesTransport({signing_key.key_id: signing_key.certificate_pem})
    monkeypatch.setattr("processing.push.tokens.certificate_transport", lambda: transport)


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


def test_googles_certificates_are_fetched_once_while_their_cache_lifetime_lasts(monkeypatch, settings):
    """The real google-auth transport on a CacheControl session: Google's max-age is honoured."""
    import email.utils
    import io

    import urllib3

    from processing.push import tokens

    signing_key = make_signing_key("cached-key")
    settings.PUBSUB_PUSH_AUDIENCE = PUSH_AUDIENCE
    settings.PUBSUB_PUSH_SERVICE_ACCOUNT = PUSH_SERVICE_ACCOUNT
    fetches = []

    class SocketBody(io.BytesIO):
        """Closes once read to the end, as a real response body does (CacheControl stores it then)."""

        def read(self, *args):
            data = super().read(*args)
            if not data or self.tell() == len(self.getvalue()):
                self.close()
            return data

    def google_answers(pool, method, url, **kwargs):
        """Google's certificate endpoint, at the socket's edge: requests and CacheControl run for real."""
        fetches.append(f"{pool.scheme}://{pool.host}{url}")
        return urllib3.HTTPResponse(
            body=SocketBody(json.dumps({signing_key.key_id: signing_key.certificate_pem}).encode()),
            headers={
                "Cache-Control": "public, max-age=3600, must-revalidate",
                "Date": email.utils.formatdate(usegmt=True),
                "Content-Type": "application/json",
            },
            status=200,
            preload_content=False,
            decode_content=False,
            request_method=method,
        )

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", google_answers)
    monkeypatch.setattr(tokens, "_session", None)
    meta = {"HTTP_AUTHORIZATION": f"Bearer {signing_key.sign(push_claims())}"}

    assert tokens.verify_push_token(meta)["email"] == PUSH_SERVICE_ACCOUNT
    assert tokens.verify_push_token(meta)["email"] == PUSH_SERVICE_ACCOUNT
    assert fetches == ["https://www.googleapis.com/oauth2/v1/certs"]


def test_certificates_that_cannot_be_fetched_are_a_503_to_redeliver_later(client, push_enabled, monkeypatch):
    from google.auth import exceptions as auth_exceptions

    def unreachable(*args, **kwargs):
        raise auth_exceptions.TransportError("connection refused")

    monkeypatch.setattr("processing.push.tokens.certificate_transport", lambda: unreachable)

    response = push(client, new_envelope(), "header.payload.signature")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert "refused" not in response.content.decode()
