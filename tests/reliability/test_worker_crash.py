"""``kill -9`` of the worker in the middle of a batch, three times, while clients keep sending.

The promise: every log that got a 202 ends processed, none is missing, none is
processed twice in effect. A killed worker never acks or gives back what it
held; its leases run out and another worker takes the messages again.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from processing.models import QueueMessage
from tests.reliability.checks import (
    assert_processed_exactly_once,
    processed_count,
    records_of,
    snapshot,
    wait_for,
    wait_until_processed,
)
from tests.reliability.load import Load

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TENANTS = ["acme", "beta_inc", "globex"]
KILLS = 3


def leased_message_ids() -> set[str]:
    """Messages a worker holds right now (claimed, lease not run out, not acked)."""
    return {
        str(message_id)
        for message_id in QueueMessage.objects.filter(
            state=QueueMessage.STATE_READY, lease_token__isnull=False, available_at__gt=timezone.now()
        ).values_list("message_id", flat=True)
    }


@pytest.mark.postgres
def test_a_worker_killed_mid_batch_three_times_under_load_loses_and_doubles_nothing(services):
    api = services.api(threads=8)
    worker = services.worker("--concurrency", "8")
    load = Load(
        lambda: api.base_url, tenants=TENANTS, total=240, threads=3, pause_seconds=0.03, max_seconds=60
    ).start()

    held_at_kill: list[set[str]] = []
    before_last_kill: dict = {}
    for kill in range(KILLS):
        # Let this worker make progress first, then catch it holding several messages.
        floor = processed_count(TENANTS)
        wait_for(lambda floor=floor: processed_count(TENANTS) >= floor + 5, timeout=30, message="progress")
        held = wait_for(lambda: (ids := leased_message_ids()) and len(ids) >= 3 and ids, timeout=30)
        if kill == KILLS - 1:
            before_last_kill = snapshot(records_of(TENANTS, "processed"))
        worker.kill()
        held_at_kill.append(held)
        worker.start()

    load.wait()
    assert all(log.statuses == [202] for log in load.sent), "the API refused or dropped a log"
    wait_until_processed(load.accepted, timeout=90)
    wait_for(lambda: not QueueMessage.objects.exists(), timeout=10, message="the queue to empty")
    worker.stop()
    assert worker.wait(0) == 0, worker.log_tail()

    assert len(load.accepted) == 240
    assert_processed_exactly_once(load.accepted, tenants=TENANTS, before=before_last_kill)
    # Each kill did land mid-batch: what the dead worker held was handed out again and processed.
    redelivered = {
        line["message_id"]
        for line in worker.log_lines("log processed")
        if line.get("delivery_attempt", 0) >= 2
    }
    for held in held_at_kill:
        assert held <= redelivered | _acked_before_the_kill(held, worker), held - redelivered


def _acked_before_the_kill(held: set[str], worker) -> set[str]:
    """Messages the worker finished in the instant between the lease query and the kill."""
    return {
        line["message_id"]
        for line in worker.log_lines("log processed")
        if line["message_id"] in held and line.get("delivery_attempt") == 1
    }
