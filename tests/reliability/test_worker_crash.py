"""``kill -9`` of the worker in the middle of a batch, three times, while clients keep sending.

The promise: every log that got a 202 ends processed, none is missing, none is
processed twice in effect. A killed worker never acks or gives back what it
held; its leases run out and another worker takes the messages again.

Run with the database queue, writing to the database store and to the
Firestore emulator. Not on the Pub/Sub emulator: it never hands out again what
a killed streaming-pull client held (measured with this CLI's emulator: still
withheld from fresh subscribers, unary pulls included, 3.5 minutes after the
kill, whatever the lease settings), where Pub/Sub redelivers once the ack
deadline passes. The API-kill and outage tests do run on it.
"""

from __future__ import annotations

from collections.abc import Callable

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
from tests.reliability.conftest import unique_tenants
from tests.reliability.load import Load
from tests.reliability.services import WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KILLS = 3


def leased_message_ids() -> set[str]:
    """Messages a worker holds right now on the database queue (claimed, lease running, not acked)."""
    return {
        str(message_id)
        for message_id in QueueMessage.objects.filter(
            state=QueueMessage.STATE_READY, lease_token__isnull=False, available_at__gt=timezone.now()
        ).values_list("message_id", flat=True)
    }


def kill_mid_batch_repeatedly(
    worker: WorkerProcess, tenants: list[str], held: Callable[[], set[str]]
) -> tuple[list[set[str]], dict]:
    """Kill and restart ``worker`` KILLS times, each time after progress and while it holds messages.

    Returns what it held at each kill (as far as the backend can tell) and a
    snapshot of the processed records taken just before the last kill.
    """
    held_at_kill: list[set[str]] = []
    before_last_kill: dict = {}
    for kill in range(KILLS):
        floor = processed_count(tenants)
        wait_for(lambda floor=floor: processed_count(tenants) >= floor + 5, timeout=45, message="progress")
        holding = wait_for(lambda: (ids := held()) and len(ids) >= 3 and ids, timeout=30, message="a batch")
        if kill == KILLS - 1:
            before_last_kill = snapshot(records_of(tenants, "processed"))
        worker.kill()
        held_at_kill.append(holding)
        worker.start()
    return held_at_kill, before_last_kill


def redelivered_and_processed(worker: WorkerProcess) -> set[str]:
    return {
        line["message_id"]
        for line in worker.log_lines("log processed")
        if line.get("delivery_attempt", 0) >= 2
    }


def test_a_worker_killed_mid_batch_three_times_under_load_loses_and_doubles_nothing(services, store_backend):
    tenants = unique_tenants("acme", "beta_inc", "globex")
    api = services.api(threads=8)
    worker = services.worker("--concurrency", "8")
    # About ten logs a second until the kills are over (at most 600).
    load = Load(lambda: api.base_url, tenants=tenants, total=600, threads=2, pause_seconds=0.2).start()

    held_at_kill, before_last_kill = kill_mid_batch_repeatedly(worker, tenants, leased_message_ids)
    # Traffic goes on after the last restart too, then stops.
    sent_by_last_kill = len(load.sent)
    wait_for(lambda: len(load.sent) >= sent_by_last_kill + 10, timeout=30, message="more traffic")
    load.stop()
    assert all(log.statuses == [202] for log in load.sent), "the API refused or dropped a log"
    wait_until_processed(load.accepted, timeout=90)
    wait_for(lambda: not QueueMessage.objects.exists(), timeout=10, message="the queue to empty")
    worker.stop()
    assert worker.wait(0) == 0, worker.log_tail()

    assert_processed_exactly_once(load.accepted, tenants=tenants, before=before_last_kill)
    # Each kill did land mid-batch: what the dead worker held was handed out again and
    # processed (or, for a message it finished in the instant before the kill, acked).
    redelivered = redelivered_and_processed(worker)
    finished_first_time = {
        line["message_id"] for line in worker.log_lines("log processed") if line.get("delivery_attempt") == 1
    }
    for held in held_at_kill:
        assert held <= redelivered | finished_first_time
        assert held & redelivered
