"""HTTP ingest -> Pub/Sub -> run_worker -> Firestore -> GET /logs, on the emulators."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from processing import pipeline
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, get_store
from tests.gcp.helpers import firestore_document, pull_raw

pytestmark = [pytest.mark.emulators, pytest.mark.django_db]

STORED_FIELDS = {
    "source",
    "original_text",
    "modified_data",
    "processed_at",
    "status",
    "attempts",
    "last_error",
    "received_at",
    "message_id",
}


def drain(idle_seconds: float = 2.0) -> str:
    """Run the real worker command until the subscription stays idle."""
    out = StringIO()
    call_command(
        "run_worker", "--drain", "--drain-idle-seconds", str(idle_seconds), "--concurrency", "4", stdout=out
    )
    return out.getvalue()


@pytest.mark.slow
def test_ingested_logs_are_processed_into_firestore_and_served(client, google_backends):
    tenant, other_tenant = f"acme-{uuid.uuid4().hex[:6]}", f"beta_inc-{uuid.uuid4().hex[:6]}"
    as_json = client.post(
        "/ingest",
        data=json.dumps({"tenant_id": tenant, "log_id": "123", "text": "User 555-0199 accessed the system"}),
        content_type="application/json",
    )
    as_text = client.post(
        "/ingest",
        data="Alert: System status check for 555-1234",
        content_type="text/plain",
        HTTP_X_TENANT_ID=other_tenant,
    )
    assert (as_json.status_code, as_text.status_code) == (202, 202)
    generated_log_id = as_text.json()["log_id"]

    drain()

    detail = client.get("/logs/123", HTTP_X_TENANT_ID=tenant)
    assert detail.status_code == 200
    assert detail.json()["status"] == STATUS_PROCESSED
    assert detail.json()["modified_data"] == "User [REDACTED] accessed the system"
    document = firestore_document(tenant, "123")
    assert set(document) >= STORED_FIELDS
    assert document["source"] == "json_upload"
    assert document["original_text"] == "User 555-0199 accessed the system"
    assert document["message_id"] == as_json.json()["message_id"]
    other = firestore_document(other_tenant, generated_log_id)
    assert (other["source"], other["status"]) == ("text_upload", STATUS_PROCESSED)
    assert other["modified_data"] == "Alert: System status check for [REDACTED]"
    # Tenants are kept apart by path: one tenant cannot read the other's log.
    assert client.get(f"/logs/{generated_log_id}", HTTP_X_TENANT_ID=tenant).status_code == 404


@pytest.mark.slow
def test_a_log_that_always_fails_is_dead_lettered_after_max_attempts_with_backoff(
    client, google_backends, settings, monkeypatch
):
    settings.PROCESSING_DEMO_FAILURES = True
    settings.WORKER_MAX_ATTEMPTS = 3
    settings.WORKER_BACKOFF_BASE_SECONDS = 1.0
    settings.WORKER_BACKOFF_MAX_SECONDS = 10.0
    attempt_times: list[float] = []
    real_handle = pipeline.handle

    def timed_handle(envelope, **kwargs):
        attempt_times.append(time.monotonic())
        return real_handle(envelope, **kwargs)

    monkeypatch.setattr(pipeline, "handle", timed_handle)
    tenant = f"gcp-{uuid.uuid4().hex[:6]}"
    response = client.post(
        "/ingest",
        data=json.dumps({"tenant_id": tenant, "log_id": "doomed", "text": "[demo:fail=always] 555-0199"}),
        content_type="application/json",
    )
    assert response.status_code == 202

    drain(idle_seconds=6.0)  # longer than the longest backoff (2 s)

    record = get_store().get(tenant, "doomed")
    assert (record.status, record.attempts) == (STATUS_DEAD_LETTERED, 3)
    assert "demo failure" in record.last_error
    assert len(attempt_times) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempt_times)]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9  # 1 s, then 2 s: exponential backoff
    [parked] = pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=3)
    assert json.loads(parked.data)["log_id"] == "doomed"
    assert pull_raw(settings.PUBSUB_SUBSCRIPTION, wait=1) == []


def test_a_redelivered_message_changes_nothing_in_firestore(google_backends):
    from processing.queues import get_queue
    from tests.gcp.helpers import new_envelope

    envelope = new_envelope()
    get_queue().publish(envelope)
    drain()
    before = get_store().get(envelope.tenant_id, envelope.log_id)

    get_queue().publish(envelope)  # the same log again (a client retry, a redelivery)
    drain()

    assert get_store().get(envelope.tenant_id, envelope.log_id) == before
    assert get_store().counts(envelope.tenant_id)[STATUS_PROCESSED] == 1
