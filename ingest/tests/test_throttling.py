"""Per-tenant rate limits in logs per minute: 429 with Retry-After for the tenant over its rate, nobody else."""

import json

import pytest

from tenants import throttling
from tenants.models import Tenant

# A moment 10 s into a clock minute, so tests control which window they are in.
MINUTE_START = 1_800_000_000 - (1_800_000_000 % 60)
T0 = MINUTE_START + 10


def test_requests_within_the_rate_are_allowed():
    assert [throttling.acquire("t", 3, now=T0) for _ in range(3)] == [None, None, None]


def test_the_request_over_the_rate_is_refused_with_a_wait():
    for _ in range(3):
        throttling.acquire("t", 3, now=T0)

    wait = throttling.acquire("t", 3, now=T0)

    # This minute alone is full: wait for the next (50 s), then for 3 * (1 - 2/3) of it.
    assert wait == pytest.approx(50 + 20)


def test_refused_requests_are_not_counted():
    for _ in range(3):
        throttling.acquire("t", 3, now=T0)
    for _ in range(10):
        throttling.acquire("t", 3, now=T0)

    # Next minute, 40 s in: the previous minute (3) weighs 1/3 -> 1 + new requests.
    later = MINUTE_START + 60 + 40
    assert [throttling.acquire("t", 3, now=later) is None for _ in range(3)] == [True, True, False]


def test_the_previous_minute_still_weighs_on_the_next():
    for _ in range(6):
        throttling.acquire("t", 6, now=T0)

    # 6 s into the next minute, 90% of the previous minute's 6 still counts.
    assert throttling.acquire("t", 6, now=MINUTE_START + 66) is not None
    # 55 s in, only 1/12 of it does.
    assert throttling.acquire("t", 6, now=MINUTE_START + 115) is None


def test_tenants_have_separate_counters():
    throttling.acquire("a", 1, now=T0)

    assert throttling.acquire("a", 1, now=T0) is not None
    assert throttling.acquire("b", 1, now=T0) is None


def test_release_gives_a_counted_request_back():
    throttling.acquire("t", 1, now=T0)
    throttling.release("t", now=T0)

    assert throttling.acquire("t", 1, now=T0) is None


def test_a_batch_counts_every_log():
    assert throttling.acquire("t", 10, 6, now=T0) is None

    assert throttling.acquire("t", 10, 5, now=T0) is not None
    assert throttling.acquire("t", 10, 4, now=T0) is None
    assert throttling.acquire("t", 10, 1, now=T0) is not None


def test_a_refused_batch_counts_nothing():
    throttling.acquire("t", 10, 8, now=T0)
    throttling.acquire("t", 10, 5, now=T0)

    assert throttling.acquire("t", 10, 2, now=T0) is None


def test_release_gives_a_whole_batch_back():
    throttling.acquire("t", 10, 10, now=T0)
    throttling.release("t", 10, now=T0)

    assert throttling.acquire("t", 10, 10, now=T0) is None


def test_the_wait_for_a_batch_is_when_all_of_it_fits():
    throttling.acquire("t", 10, 6, now=T0)

    wait = throttling.acquire("t", 10, 5, now=T0)

    # This minute has room for 4 only: into the next one, until 6 * (1 - t/60) + 5 <= 10.
    assert wait == pytest.approx(50 + 60 * (1 - 5 / 6))


def test_a_zero_rate_refuses_everything():
    assert throttling.acquire("t", 0, now=T0) is not None


@pytest.mark.parametrize(
    ("limit", "previous", "current", "elapsed", "expected"),
    [
        (10, 0, 10, 30, 30 + 60 * (1 - 9 / 10)),  # full minute: into the next one
        (10, 20, 5, 30, 60 * (1 - 4 / 20) - 30),  # the previous minute's share must shrink
        (10, 0, 3, 30, 0),  # room now
    ],
)
def test_the_wait_is_when_the_next_request_fits(limit, previous, current, elapsed, expected):
    assert throttling.seconds_until_allowed(limit, previous, current, elapsed) == pytest.approx(expected)


def test_more_logs_than_the_whole_limit_wait_two_full_windows():
    assert throttling.seconds_until_allowed(10, 0, 0, 30, logs=11) == pytest.approx(90)


# -- through the API ---------------------------------------------------------------


def ingest(client, tenant_id, log_id):
    return client.post(
        "/ingest",
        data=json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "hello"}),
        content_type="application/json",
    )


@pytest.fixture
def slow_tenant(db):
    return Tenant.objects.create(id="slow", rate_limit_per_minute=2)


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_nothing_queued(client, queue, slow_tenant):
    assert [ingest(client, "slow", str(n)).status_code for n in range(2)] == [202, 202]

    response = ingest(client, "slow", "3")

    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert "2 logs per minute" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    assert len(queue.queued_envelopes()) == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_another_tenant_is_unaffected_by_one_tenants_throttling(client, queue, slow_tenant):
    for n in range(5):
        ingest(client, "slow", str(n))

    responses = [ingest(client, "acme", str(n)).status_code for n in range(5)]

    assert responses == [202] * 5


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_a_batch_counts_each_of_its_logs_and_is_refused_whole(client, queue, slow_tenant):
    ingest(client, "slow", "1")
    body = "\n".join(
        json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "x"})
        for tenant_id, log_id in (("acme", "a"), ("slow", "b"), ("slow", "c"))
    )

    response = client.post("/ingest", data=body, content_type="application/x-ndjson")

    # slow has room for 1 more log, and the batch has 2 of its logs.
    assert response.status_code == 429
    assert "this request's 2 logs do not fit" in response.json()["detail"]
    assert len(queue.queued_envelopes()) == 1
    # acme's share of the refused batch was given back: it still has its full rate.
    acme = Tenant.objects.get(pk="acme")
    acme.rate_limit_per_minute = 1
    acme.save()
    assert ingest(client, "acme", "after").status_code == 202


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_five_batches_cannot_queue_more_than_the_rate(client, queue):
    Tenant.objects.create(id="five", rate_limit_per_minute=5)
    statuses = []
    for batch in range(5):
        records = [{"tenant_id": "five", "log_id": f"{batch}-{n}", "text": "x"} for n in range(5)]
        statuses.append(
            client.post("/ingest", data=json.dumps(records), content_type="application/json").status_code
        )

    assert statuses == [202, 429, 429, 429, 429]
    assert len(queue.queued_envelopes()) == 5


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_a_batch_larger_than_the_whole_rate_is_413_as_it_can_never_fit(client, queue, slow_tenant):
    records = [{"tenant_id": "slow", "log_id": str(n), "text": "x"} for n in range(3)]

    response = client.post("/ingest", data=json.dumps(records), content_type="application/json")

    assert response.status_code == 413
    assert "more than its whole rate of 2 logs per minute" in response.json()["detail"]
    assert queue.queued_envelopes() == []
    assert [ingest(client, "slow", str(n)).status_code for n in range(2)] == [202, 202]


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_rejected_records_do_not_count(client, queue, slow_tenant):
    records = [
        {"tenant_id": "slow", "log_id": "1", "text": "x"},
        {"tenant_id": "slow", "log_id": "2", "text": ""},
    ]

    client.post("/ingest", data=json.dumps(records), content_type="application/json")

    assert ingest(client, "slow", "3").status_code == 202


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_a_request_the_queue_refused_does_not_use_up_the_rate(client, settings, slow_tenant):
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"
    for n in range(3):
        assert ingest(client, "slow", str(n)).status_code == 503

    settings.QUEUE_BACKEND = "memory"
    from processing.queues import reset_queue

    reset_queue()
    assert [ingest(client, "slow", str(n)).status_code for n in range(2)] == [202, 202]


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
def test_invalid_requests_do_not_use_up_the_rate(client, queue, slow_tenant):
    for _ in range(3):
        client.post("/ingest", data='{"tenant_id": "slow"}', content_type="application/json")

    assert ingest(client, "slow", "1").status_code == 202
