"""POST /ingest with application/json: one log, answered 202 only once queued."""

import json
import uuid
from datetime import datetime

import pytest

from core.envelope import SOURCE_JSON
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]

EXAMPLE = {"tenant_id": "acme", "log_id": "123", "text": "User 555-0199 accessed the system"}


def post_json(client, payload, content_type="application/json", **headers):
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post("/ingest", data=body, content_type=content_type, headers=headers)


def test_it_accepts_the_readme_example_with_the_documented_body(client, queue):
    response = post_json(client, EXAMPLE)

    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "tenant_id": "acme",
        "log_id": "123",
        "message_id": queue.queued()[0][0],
    }
    assert response["Content-Type"] == "application/json"


def test_it_queues_one_flat_envelope_with_the_upload(client, queue):
    post_json(client, EXAMPLE)

    [envelope] = queue.queued_envelopes()
    assert (envelope.tenant_id, envelope.log_id, envelope.text) == ("acme", "123", EXAMPLE["text"])
    assert envelope.source == SOURCE_JSON
    assert datetime.fromisoformat(envelope.received_at).tzinfo is not None


def test_it_accepts_a_charset_parameter(client, queue):
    response = post_json(client, EXAMPLE, content_type="application/json; charset=UTF-8")

    assert response.status_code == 202
    assert len(queue.queued_envelopes()) == 1


def test_it_ignores_unknown_fields(client, queue):
    response = post_json(client, {**EXAMPLE, "severity": "high", "nested": {"a": [1, 2]}})

    assert response.status_code == 202
    assert queue.queued_envelopes()[0].text == EXAMPLE["text"]


def test_it_keeps_non_ascii_text_intact(client, queue):
    text = "Zoë rang +44 20 7946 0958 — 東京 ✓"
    response = post_json(client, {**EXAMPLE, "text": text})

    assert response.status_code == 202
    assert queue.queued_envelopes()[0].text == text


def test_it_uses_a_valid_request_id_from_the_client_and_echoes_it(client, queue):
    response = post_json(client, EXAMPLE, **{"X-Request-ID": "req-42"})

    assert response["X-Request-ID"] == "req-42"
    assert queue.queued_envelopes()[0].request_id == "req-42"


def test_it_generates_a_request_id_when_the_client_sends_a_malformed_one(client, queue):
    response = post_json(client, EXAMPLE, **{"X-Request-ID": "has spaces and <html>"})

    request_id = response["X-Request-ID"]
    assert request_id != "has spaces and <html>"
    assert queue.queued_envelopes()[0].request_id == request_id
    assert request_id


def test_it_carries_the_callers_trace_into_the_envelope(client, queue):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    post_json(client, EXAMPLE, traceparent=traceparent)

    assert "4bf92f3577b34da6a3ce929d0e0e4736" in queue.queued_envelopes()[0].trace


def test_it_carries_a_cloud_trace_context_when_there_is_no_traceparent(client, queue, settings):
    cloud_trace = "105445aa7843bc8bf206b12000100000/1;o=1"

    post_json(client, EXAMPLE, **{"X-Cloud-Trace-Context": cloud_trace})

    assert "105445aa7843bc8bf206b12000100000" in queue.queued_envelopes()[0].trace


def test_open_mode_registers_an_unknown_tenant_with_the_default_rate(client, queue, settings):
    settings.INGEST_DEFAULT_RATE_PER_MINUTE = 1234

    post_json(client, {**EXAMPLE, "tenant_id": "newcomer"})

    tenant = Tenant.objects.get(pk="newcomer")
    assert tenant.active
    assert tenant.rate_limit_per_minute == 1234


def test_open_mode_asks_the_database_nothing_once_it_has_seen_the_tenant(
    client, queue, django_assert_num_queries
):
    post_json(client, EXAMPLE)

    with django_assert_num_queries(0):
        response = post_json(client, {**EXAMPLE, "log_id": "124"})

    assert response.status_code == 202


def test_it_refuses_an_inactive_tenant_in_open_mode(client, queue):
    Tenant.objects.create(id="acme", active=False)

    response = post_json(client, EXAMPLE)

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert queue.queued_envelopes() == []


def test_each_accepted_log_gets_its_own_message_id(client, queue):
    first = post_json(client, EXAMPLE).json()
    second = post_json(client, {**EXAMPLE, "log_id": str(uuid.uuid4())}).json()

    assert first["message_id"] != second["message_id"]
