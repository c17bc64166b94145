"""``manage.py setup_pubsub`` on the emulator: creates what settings name, then finds it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from google.cloud import pubsub_v1

pytestmark = pytest.mark.emulators


def run_setup(*args: str) -> str:
    out = StringIO()
    call_command("setup_pubsub", *args, stdout=out)
    return out.getvalue()


def subscription(settings, subscription_id: str):
    subscriber = pubsub_v1.SubscriberClient()
    try:
        path = subscriber.subscription_path(settings.GOOGLE_CLOUD_PROJECT, subscription_id)
        return subscriber.get_subscription(request={"subscription": path})
    finally:
        subscriber.close()


def test_it_creates_topics_and_subscriptions_from_settings(pubsub_emulator, pubsub_names, settings):
    settings.WORKER_LEASE_SECONDS = 45
    settings.WORKER_BACKOFF_BASE_SECONDS = 2
    settings.WORKER_BACKOFF_MAX_SECONDS = 300
    settings.PUBSUB_MAX_DELIVERY_ATTEMPTS = 50

    output = run_setup()

    assert "4 created, 0 already there." in output
    created_lines = [line for line in output.splitlines() if line.strip().startswith("created")]
    for name in pubsub_names.values():
        assert any(line.endswith(f"/{name}") for line in created_lines), name
    worker = subscription(settings, settings.PUBSUB_SUBSCRIPTION)
    assert worker.topic.endswith(f"/topics/{settings.PUBSUB_TOPIC}")
    assert worker.ack_deadline_seconds == 45
    assert worker.retry_policy.minimum_backoff.total_seconds() == 2
    assert worker.retry_policy.maximum_backoff.total_seconds() == 300
    assert worker.dead_letter_policy.dead_letter_topic.endswith(
        f"/topics/{settings.PUBSUB_DEAD_LETTER_TOPIC}"
    )
    assert worker.dead_letter_policy.max_delivery_attempts == 50
    assert not worker.push_config.push_endpoint
    replay = subscription(settings, settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION)
    assert replay.topic.endswith(f"/topics/{settings.PUBSUB_DEAD_LETTER_TOPIC}")


def test_running_it_again_finds_everything_and_changes_nothing(pubsub_emulator, pubsub_names, settings):
    run_setup()
    before = subscription(settings, settings.PUBSUB_SUBSCRIPTION)

    output = run_setup()

    assert "0 created, 4 already there." in output
    assert output.count("found") == 4
    assert subscription(settings, settings.PUBSUB_SUBSCRIPTION) == before


def test_changed_settings_update_the_existing_subscription(pubsub_emulator, pubsub_names, settings):
    run_setup()
    settings.WORKER_LEASE_SECONDS = 90

    output = run_setup()

    assert "updated subscription" in output and "ack_deadline_seconds" in output
    assert subscription(settings, settings.PUBSUB_SUBSCRIPTION).ack_deadline_seconds == 90


def test_a_push_endpoint_makes_the_worker_subscription_push(pubsub_emulator, pubsub_names, settings):
    endpoint = "http://127.0.0.1:8000/pubsub/push"

    settings.PUBSUB_PUSH_ACK_DEADLINE_SECONDS = 540

    run_setup("--push-endpoint", endpoint)

    pushed = subscription(settings, settings.PUBSUB_SUBSCRIPTION)
    assert pushed.push_config.push_endpoint == endpoint
    # A push delivery may take as long as the intake's limits were checked against.
    assert pushed.ack_deadline_seconds == 540
