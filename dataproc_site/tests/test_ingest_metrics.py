import json

import pytest
from django.core.cache import caches

from dataproc_site.tests.samples import sample
from processing.queues import get_queue
from tenants.auth import clear_auth_caches
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

FAKES = "tests.doubles"
INGEST_ROUTE = {"method": "POST", "route": "ingest"}
EXAMPLE = {"tenant_id": "acme", "log_id": "123", "text": "User 555-0199 accessed the system"}


@pytest.fixture(autouse=True)
def open_ingest(settings):
    settings.INGEST_AUTH = "open"
    settings.QUEUE_BACKEND = "memory"
    clear_auth_caches()
    caches["default"].clear()
    yield
    clear_auth_caches()
    caches["default"].clear()


def post_json(client, payload, **headers):
    return client.post("/ingest", data=json.dumps(payload), content_type="application/json", headers=headers)


def requests_total(status: str, tenant: str) -> float:
    return sample("dataproc_http_requests_total", method="POST", route="ingest", status=status, tenant=tenant)


def test_an_accepted_log_moves_the_request_accepted_publish_and_body_metrics(client):
    Tenant.objects.create(id="acme")
    before = {
        "requests": requests_total("202", "acme"),
        "accepted": sample("dataproc_ingest_logs_accepted_total", tenant="acme"),
        "publishes": sample("dataproc_ingest_publish_duration_seconds_count"),
        "bodies": sample("dataproc_http_request_body_bytes_count", **INGEST_ROUTE),
        "body_bytes": sample("dataproc_http_request_body_bytes_sum", **INGEST_ROUTE),
    }

    response = post_json(client, EXAMPLE)

    assert response.status_code == 202
    assert requests_total("202", "acme") == before["requests"] + 1
    assert sample("dataproc_ingest_logs_accepted_total", tenant="acme") == before["accepted"] + 1
    assert sample("dataproc_ingest_publish_duration_seconds_count") == before["publishes"] + 1
    assert (
        sample("dataproc_http_request_body_bytes_count", method="POST", route="ingest")
        == before["bodies"] + 1
    )
    assert sample("dataproc_http_request_body_bytes_sum", method="POST", route="ingest") == before[
        "body_bytes"
    ] + len(json.dumps(EXAMPLE))


def test_a_batch_counts_every_log_it_queues(client):
    Tenant.objects.create(id="acme")
    before = sample("dataproc_ingest_logs_accepted_total", tenant="acme")
    body = "\n".join(json.dumps({**EXAMPLE, "log_id": f"b{number}"}) for number in range(3))

    response = client.post("/ingest", data=body, content_type="application/x-ndjson")

    assert response.status_code == 202
    assert sample("dataproc_ingest_logs_accepted_total", tenant="acme") == before + 3


def test_a_tenant_registered_by_its_first_upload_gets_its_own_label(client):
    before = requests_total("202", "newcomer")

    post_json(client, {**EXAMPLE, "tenant_id": "newcomer"})

    assert requests_total("202", "newcomer") == before + 1


def test_a_rejected_upload_is_counted_with_its_status_and_nothing_is_accepted(client):
    before_rejected = requests_total("400", "other")
    before_accepted = sample("dataproc_ingest_logs_accepted_total", tenant="other")

    response = client.post("/ingest", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert requests_total("400", "other") == before_rejected + 1
    assert sample("dataproc_ingest_logs_accepted_total", tenant="other") == before_accepted


def test_a_throttled_upload_is_counted_for_its_tenant(client):
    Tenant.objects.create(id="slow-tenant", rate_limit_per_minute=1)
    before_throttled = sample("dataproc_ingest_throttled_requests_total", tenant="slow-tenant")
    before_429 = requests_total("429", "slow-tenant")

    assert post_json(client, {**EXAMPLE, "tenant_id": "slow-tenant"}).status_code == 202
    assert post_json(client, {**EXAMPLE, "tenant_id": "slow-tenant", "log_id": "124"}).status_code == 429

    assert sample("dataproc_ingest_throttled_requests_total", tenant="slow-tenant") == before_throttled + 1
    assert requests_total("429", "slow-tenant") == before_429 + 1


def test_a_publish_the_queue_refuses_is_counted_as_a_failure(client, settings):
    settings.QUEUE_BACKEND = f"{FAKES}.UnavailableQueue"
    Tenant.objects.create(id="acme")
    before_failures = sample("dataproc_ingest_publish_failures_total", reason="QueueUnavailable")
    before_accepted = sample("dataproc_ingest_logs_accepted_total", tenant="acme")

    response = post_json(client, EXAMPLE)

    assert response.status_code == 503
    assert sample("dataproc_ingest_publish_failures_total", reason="QueueUnavailable") == before_failures + 1
    assert sample("dataproc_ingest_logs_accepted_total", tenant="acme") == before_accepted
    assert requests_total("503", "acme") >= 1


def test_the_envelope_carries_the_request_id_and_trace_of_the_request_log_line(client, log_lines):
    post_json(client, EXAMPLE)

    envelope = get_queue().queued_envelopes()[0]
    (line,) = [line for line in log_lines() if line["logger"] == "dataproc.request"]
    assert envelope.request_id == line["request_id"]
    assert line["logging.googleapis.com/trace"].endswith("/traces/" + envelope.trace.split("-")[1])
    assert line["tenant_id"] == "acme"
    assert "555-0199" not in json.dumps(log_lines())


def test_a_malformed_traceparent_does_not_split_the_api_and_worker_traces(client, log_lines):
    cloud_trace = "105445aa7843bc8bf206b12000100000"

    post_json(
        client,
        EXAMPLE,
        traceparent="00-" + "0" * 32 + "-" + "1" * 16 + "-01",
        **{"X-Cloud-Trace-Context": f"{cloud_trace}/1;o=1"},
    )

    envelope = get_queue().queued_envelopes()[0]
    (line,) = [line for line in log_lines() if line["logger"] == "dataproc.request"]
    assert line["logging.googleapis.com/trace"].endswith(f"/traces/{cloud_trace}")
    assert envelope.trace.split("-")[1] == cloud_trace
