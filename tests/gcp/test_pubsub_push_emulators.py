"""Push deliveries on Firestore and Pub/Sub give the same results as ``run_worker``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from processing.queues import get_queue
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, get_store
from tests.gcp.helpers import new_envelope, pull_raw
from tests.gcp.tokens import (
    PUSH_AUDIENCE,
    PUSH_SERVICE_ACCOUNT,
    CertificatesTransport,
    make_signing_key,
    push_body,
    push_claims,
)

pytestmark = [pytest.mark.emulators, pytest.mark.django_db]


@pytest.fixture(scope="module")
def signing_key():
    return make_signing_key("emulator-key")


@pytest.fixture
def push_enabled(google_backends, settings, monkeypatch, signing_key):
    settings.PUBSUB_PUSH_AUDIENCE = PUSH_AUDIENCE
    settings.PUBSUB_PUSH_SERVICE_ACCOUNT = PUSH_SERVICE_ACCOUNT
    transport = CertificatesTransport({signing_key.key_id: signing_key.certificate_pem})
    monkeypatch.setattr("processing.push.tokens.certificate_transport", lambda: transport)


def push(client, signing_key, envelope, *, message_id: str, delivery_attempt: int = 1):
    body = push_body(envelope.to_bytes(), message_id=message_id, delivery_attempt=delivery_attempt)
    return client.post(
        "/pubsub/push",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {signing_key.sign(push_claims())}",
    )


@pytest.mark.slow
def test_a_pushed_log_is_stored_exactly_like_one_the_pull_worker_processed(client, push_enabled, signing_key):
    text = "Call +1-555-123-4567 or mail ops@example.com"
    pushed, pulled = new_envelope(text), new_envelope(text)
    get_queue().publish(pulled)
    call_command(
        "run_worker", "--drain", "--drain-idle-seconds", "2", "--concurrency", "2", stdout=StringIO()
    )

    response = push(client, signing_key, pushed, message_id="push-1")

    assert response.status_code == 204
    by_push = get_store().get(pushed.tenant_id, pushed.log_id)
    by_worker = get_store().get(pulled.tenant_id, pulled.log_id)
    for field in ("status", "source", "original_text", "modified_data", "attempts", "last_error"):
        assert getattr(by_push, field) == getattr(by_worker, field), field
    assert by_push.status == STATUS_PROCESSED
    assert "[REDACTED]" in by_push.modified_data


def test_a_pushed_log_that_exhausts_its_attempts_is_published_to_the_dead_letter_topic(
    client, push_enabled, signing_key, settings
):
    settings.PROCESSING_DEMO_FAILURES = True
    settings.WORKER_MAX_ATTEMPTS = 2
    envelope = new_envelope("[demo:fail=always] 555-0199")

    first = push(client, signing_key, envelope, message_id="push-dl", delivery_attempt=1)
    second = push(client, signing_key, envelope, message_id="push-dl", delivery_attempt=2)

    assert (first.status_code, second.status_code) == (503, 204)
    record = get_store().get(envelope.tenant_id, envelope.log_id)
    assert (record.status, record.attempts) == (STATUS_DEAD_LETTERED, 2)
    [parked] = pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=3)
    assert json.loads(parked.data) == envelope.to_dict()
    assert parked.attributes["original_message_id"] == "push-dl"


def test_a_pushed_payload_that_is_no_envelope_is_parked_and_acknowledged(
    client, push_enabled, signing_key, settings
):
    body = push_body(b"\xff\xfe garbage", message_id="push-garbage")

    response = client.post(
        "/pubsub/push",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {signing_key.sign(push_claims())}",
    )

    assert response.status_code == 204
    [parked] = pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=3)
    assert parked.data == b"\xff\xfe garbage"
