"""SIGTERM to a worker in the middle of a batch (a deploy, a scale-in, Cloud Run's stop).

The promise: the worker stops taking messages, finishes the ones it is working
on within ``WORKER_SHUTDOWN_GRACE_SECONDS``, gives the others back at once and
exits 0; after a restart every log is processed, none lost, none twice. When
the grace period is shorter than the work, the unfinished messages are given
back too, and processed once by the next worker.

On the database queue, writing to the database store and to the Firestore
emulator. Not on the Pub/Sub emulator: what a stopped worker's streaming-pull
client had buffered comes back there only after the ack deadline, or (as with
a killed worker, see test_worker_crash) not at all.
"""

from __future__ import annotations

import signal
import time

import pytest
from django.utils import timezone

from core.envelope import SOURCE_JSON, LogEnvelope
from processing.models import QueueMessage
from processing.queues import get_queue
from tests.reliability.checks import (
    assert_processed_exactly_once,
    processed_count,
    records_of,
    snapshot,
    wait_for,
)
from tests.reliability.conftest import unique_tenants
from tests.reliability.load import SentLog, log_text
from tests.reliability.services import WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TEXT_LENGTH = 40


def publish(tenants: list[str], count: int, prefix: str) -> list[SentLog]:
    logs = []
    for number in range(count):
        log = SentLog(tenants[number % len(tenants)], f"{prefix}-{number:03d}", log_text(number, TEXT_LENGTH))
        log.message_ids.append(
            get_queue().publish(LogEnvelope(log.tenant_id, log.log_id, SOURCE_JSON, log.text))
        )
        log.statuses.append(202)
        logs.append(log)
    return logs


def leased_message_ids() -> set[str]:
    return {
        str(message_id)
        for message_id in QueueMessage.objects.filter(
            state=QueueMessage.STATE_READY, lease_token__isnull=False, available_at__gt=timezone.now()
        ).values_list("message_id", flat=True)
    }


def terminate(worker: WorkerProcess, *, within: float) -> float:
    """SIGTERM the worker; it must exit 0 within ``within`` seconds. Returns how long it took."""
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    exit_code = worker.wait(within)
    elapsed = time.monotonic() - started
    assert exit_code == 0, f"exit {exit_code} after {elapsed:.1f} s:\n{worker.log_tail()}"
    assert worker.events("worker stopped")[-1]["reason"] == "signal"
    return elapsed


def processed_by(worker: WorkerProcess) -> set[str]:
    """Message ids this worker processed (not redeliveries of processed logs)."""
    return {
        line["message_id"]
        for line in worker.log_lines("log processed")
        if line.get("attempts") == 1 and line.get("status") == "processed"
    }


def test_sigterm_mid_batch_finishes_what_is_in_flight_and_the_next_worker_does_the_rest_once(
    services, store_backend
):
    tenants = unique_tenants("acme", "beta_inc")
    # Two seconds of work per log; ten seconds of grace.
    worker = services.worker(
        "--concurrency", "4", PROCESSING_DELAY_PER_CHAR=0.05, WORKER_SHUTDOWN_GRACE_SECONDS=10
    )
    logs = publish(tenants, 12, "term")
    in_flight = wait_for(lambda: (ids := leased_message_ids()) and len(ids) == 4 and ids, timeout=30)
    assert processed_count(tenants) == 0, "the batch was not caught in the middle"

    terminate(worker, within=10 + 5)

    # What it was working on is finished, by this worker, with no second delivery.
    assert in_flight <= processed_by(worker)
    done_first = records_of(tenants, "processed")
    assert {record.message_id for record in done_first.values()} == in_flight
    # The rest went back at once, not held until leases run out.
    waiting = QueueMessage.objects.all()
    assert waiting.count() == len(logs) - len(in_flight)
    assert not waiting.filter(lease_token__isnull=False).exists()
    assert not waiting.filter(available_at__gt=timezone.now()).exists()

    successor = services.worker("--concurrency", "4", "--drain", "--drain-idle-seconds", "1")
    assert successor.wait(60) == 0, successor.log_tail()
    assert_processed_exactly_once(logs, tenants=tenants, before=snapshot(done_first))
    assert not processed_by(successor) & in_flight
    assert not QueueMessage.objects.exists()


@pytest.mark.postgres
def test_work_longer_than_the_grace_period_is_given_back_and_done_once_later(services):
    tenants = unique_tenants("acme")
    # Four seconds of work per log, one second of grace.
    worker = services.worker(
        "--concurrency", "3", PROCESSING_DELAY_PER_CHAR=0.1, WORKER_SHUTDOWN_GRACE_SECONDS=1
    )
    logs = publish(tenants, 5, "grace")
    in_flight = wait_for(lambda: (ids := leased_message_ids()) and len(ids) == 3 and ids, timeout=30)

    elapsed = terminate(worker, within=1 + 5)

    assert elapsed < 4, "the worker waited for the work instead of its grace period"
    assert worker.log_lines("grace period over; giving back unfinished messages")
    assert processed_count(tenants) == 0
    waiting = QueueMessage.objects.all()
    assert waiting.count() == len(logs)
    assert not waiting.filter(lease_token__isnull=False).exists(), "an unfinished message is still held"

    successor = services.worker(
        "--concurrency", "5", "--drain", "--drain-idle-seconds", "1", PROCESSING_DELAY_PER_CHAR=0.01
    )
    assert successor.wait(60) == 0, successor.log_tail()
    assert_processed_exactly_once(logs, tenants=tenants)
    assert in_flight <= processed_by(successor)
