"""The Pub/Sub backlog from Cloud Monitoring: parsed, cached, unknown when unreadable; no network here."""

from __future__ import annotations

import pytest

from processing.queues.pubsub import PubSubQueue
from processing.queues.pubsub_backlog import METRIC_TYPE, SubscriptionBacklog


class FakeResponse:
    def __init__(self, payload: dict, status: int = 200) -> None:
        self.payload = payload
        self.status = status

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise RuntimeError(f"HTTP {self.status}")

    def json(self) -> dict:
        return self.payload


class FakeSession:
    """Monitoring's timeSeries.list as the REST API answers it."""

    def __init__(self, *responses: FakeResponse | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[dict] = []

    def get(self, url, params, timeout):
        self.requests.append({"url": url, "params": params, "timeout": timeout})
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def series(*points: tuple[str, int]) -> FakeResponse:
    return FakeResponse(
        {
            "timeSeries": [
                {
                    "metric": {"type": METRIC_TYPE},
                    "points": [
                        {"interval": {"endTime": at}, "value": {"int64Value": str(value)}}
                        for at, value in points
                    ],
                }
            ]
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def no_emulator(monkeypatch):
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)


def backlog(session: FakeSession, clock: Clock) -> SubscriptionBacklog:
    return SubscriptionBacklog(
        "proj", "dataproc-prod-worker", cache_seconds=60, session_factory=lambda: session, clock=clock
    )


def test_the_newest_sample_of_the_subscription_is_the_backlog():
    session = FakeSession(series(("2026-12-01T10:02:00Z", 1200), ("2026-12-01T10:01:00Z", 900)))

    assert backlog(session, Clock()).value() == 1200
    [request] = session.requests
    assert request["url"] == "https://monitoring.googleapis.com/v3/projects/proj/timeSeries"
    assert METRIC_TYPE in request["params"]["filter"]
    assert 'resource.labels.subscription_id = "dataproc-prod-worker"' in request["params"]["filter"]
    assert request["timeout"] <= 2.0


def test_it_is_read_at_most_once_per_cache_period():
    session = FakeSession(series(("2026-12-01T10:00:00Z", 10)), series(("2026-12-01T10:01:00Z", 20)))
    clock = Clock()
    reader = backlog(session, clock)

    assert [reader.value() for _ in range(5)] == [10] * 5
    clock.now += 61
    assert reader.value() == 20
    assert len(session.requests) == 2


def test_an_unreadable_backlog_is_unknown_and_tried_again_later():
    session = FakeSession(
        RuntimeError("403 monitoring.timeSeries.list denied"), series(("2026-12-01T10:00:00Z", 7))
    )
    clock = Clock()
    reader = backlog(session, clock)

    assert reader.value() is None
    assert reader.value() is None  # not asked again at once
    clock.now += 61
    assert reader.value() == 7


def test_no_sample_yet_is_unknown():
    assert backlog(FakeSession(FakeResponse({})), Clock()).value() is None


def test_on_the_emulator_the_backlog_is_unknown_without_asking(monkeypatch):
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
    session = FakeSession()

    assert backlog(session, Clock()).value() is None
    assert session.requests == []


def test_the_pubsub_queue_knows_no_tenants_depth_and_its_total_from_monitoring(monkeypatch):
    queue = PubSubQueue()
    monkeypatch.setattr(SubscriptionBacklog, "value", lambda self: 4321)

    assert queue.depth(tenant_id="acme", up_to=10) is None
    assert queue.depth(up_to=100000) == 4321
