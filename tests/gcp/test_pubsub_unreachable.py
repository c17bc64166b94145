"""A Pub/Sub that does not answer: the queue gives up within its timeout (no emulator needed)."""

from __future__ import annotations

import time

import pytest

from processing.queues import QueueUnavailable
from processing.queues.pubsub import PubSubQueue, ack_deadline_seconds, lease_extension_seconds
from tests.emulators import free_port
from tests.gcp.helpers import new_envelope


@pytest.fixture
def unreachable_queue(monkeypatch, settings):
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nothing listens there
    settings.PUBSUB_PUBLISH_TIMEOUT = 1.5
    queue = PubSubQueue()
    yield queue
    queue.close()


def test_publishing_gives_up_within_the_publish_timeout(unreachable_queue):
    started = time.monotonic()
    with pytest.raises(QueueUnavailable):
        unreachable_queue.publish(new_envelope())
    with pytest.raises(QueueUnavailable):
        unreachable_queue.publish_many([new_envelope(), new_envelope()])

    assert time.monotonic() - started < 2 * 1.5 + 1.0


def test_the_readiness_check_fails(unreachable_queue):
    with pytest.raises(QueueUnavailable):
        unreachable_queue.check()


@pytest.mark.parametrize(("seconds", "deadline"), [(0, 0), (0.05, 1), (2.5, 3), (599.1, 600), (5000, 600)])
def test_delays_become_whole_second_ack_deadlines_within_pubsubs_limit(seconds, deadline):
    assert ack_deadline_seconds(seconds) == deadline


@pytest.mark.parametrize(("lease", "step"), [(1, 10), (30, 30), (30.2, 31), (900, 600)])
def test_lease_extension_steps_stay_within_pubsubs_bounds(lease, step):
    assert lease_extension_seconds(lease) == step
