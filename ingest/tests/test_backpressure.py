"""Queue-depth caps: 429 for a tenant at its cap, 503 for a full queue, nothing queued, /ready unaffected.

Through the API on the real database queue (the exact count) and on the memory
queue; a batch of N logs needs room for N; a refused upload does not use up the
tenant's rate.
"""

import json
from unittest import mock

import pytest

from processing.queues import get_queue
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("open_mode")]


@pytest.fixture(params=["database", "memory"])
def backend(request, settings):
    settings.QUEUE_BACKEND = request.param
    return request.param


def ingest(client, tenant_id: str, log_id: str):
    return client.post(
        "/ingest",
        data=json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "call 555-0199"}),
        content_type="application/json",
    )


def ingest_batch(client, tenant_id: str, count: int, prefix: str = "b"):
    body = "\n".join(
        json.dumps({"tenant_id": tenant_id, "log_id": f"{prefix}{n}", "text": "x"}) for n in range(count)
    )
    return client.post("/ingest", data=body, content_type="application/x-ndjson")


def queued(tenant_id: str | None = None) -> int:
    return get_queue().depth(tenant_id=tenant_id)


def test_a_tenant_at_its_cap_gets_429_with_retry_after_and_nothing_queued(client, settings, backend):
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 3
    assert [ingest(client, "noisy", str(n)).status_code for n in range(3)] == [202] * 3

    response = ingest(client, "noisy", "4")

    assert response.status_code == 429
    assert response.json()["error"] == "tenant_queue_full"
    assert "3 logs queued" in response.json()["detail"]
    assert int(response["Retry-After"]) == settings.INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS
    assert queued("noisy") == 3
    # Another tenant is not held to the noisy one's backlog.
    assert ingest(client, "quiet", "1").status_code == 202


def test_room_comes_back_as_the_worker_takes_logs_off_the_queue(client, settings, backend):
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 2
    ingest(client, "noisy", "1")
    ingest(client, "noisy", "2")
    assert ingest(client, "noisy", "3").status_code == 429

    [message] = get_queue().pull(1, 30)
    get_queue().ack(message)

    assert ingest(client, "noisy", "3").status_code == 202


def test_a_batch_needs_room_for_every_log_in_it(client, settings, backend):
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 10
    assert ingest_batch(client, "noisy", 8, "first").status_code == 202

    refused = ingest_batch(client, "noisy", 3, "second")
    fits = ingest_batch(client, "noisy", 2, "third")

    assert refused.status_code == 429
    assert fits.status_code == 202
    assert queued("noisy") == 10


def test_a_full_queue_gets_503_with_retry_after_for_every_tenant_and_ready_stays_200(
    client, settings, backend
):
    settings.INGEST_MAX_QUEUED_LOGS = 4
    assert ingest_batch(client, "noisy", 4).status_code == 202

    responses = [ingest(client, tenant_id, "late") for tenant_id in ("noisy", "quiet")]

    assert [response.status_code for response in responses] == [503, 503]
    assert {response.json()["error"] for response in responses} == {"queue_full"}
    assert all(int(response["Retry-After"]) >= 1 for response in responses)
    assert queued() == 4
    # A full queue is not an unready process: no instance restarts, no traffic shifted away.
    assert client.get("/ready").status_code == 200


def test_dead_letters_do_not_count_against_the_caps(client, settings, backend):
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 1
    settings.INGEST_MAX_QUEUED_LOGS = 1
    ingest(client, "noisy", "1")
    [message] = get_queue().pull(1, 30)
    get_queue().dead_letter(message)

    assert ingest(client, "noisy", "2").status_code == 202


def test_an_upload_refused_for_room_does_not_use_up_the_rate(client, settings, backend):
    Tenant.objects.create(id="noisy", rate_limit_per_minute=2)
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 1
    assert ingest(client, "noisy", "1").status_code == 202
    for n in range(3):
        assert ingest(client, "noisy", f"refused-{n}").status_code == 429

    [message] = get_queue().pull(1, 30)
    get_queue().ack(message)

    # One request of the rate of two is used; the three refusals gave theirs back.
    assert ingest(client, "noisy", "2").status_code == 202


def test_without_caps_nothing_is_counted(client, settings, backend):
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 0
    settings.INGEST_MAX_QUEUED_LOGS = 0

    with mock.patch.object(type(get_queue()), "depth", side_effect=AssertionError("the queue was counted")):
        assert ingest(client, "noisy", "1").status_code == 202


def test_a_queue_that_cannot_tell_its_depth_admits_the_upload(client, settings):
    settings.QUEUE_BACKEND = "tests.doubles.SilentQueue"
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 1
    settings.INGEST_MAX_QUEUED_LOGS = 1

    assert [ingest(client, "noisy", str(n)).status_code for n in range(3)] == [202] * 3


def test_with_the_queue_down_the_caps_leave_the_answer_to_the_publish(client, settings):
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"
    settings.INGEST_MAX_QUEUED_LOGS_PER_TENANT = 1
    settings.INGEST_MAX_QUEUED_LOGS = 1

    response = ingest(client, "noisy", "1")

    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
