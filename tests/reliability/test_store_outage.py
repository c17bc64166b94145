"""The log store goes away while the queue stays: the worker waits it out.

The promise: the worker process keeps running (no crash, no restart loop),
gives each message back with a growing delay, and processes everything once
the store is back, each log once, none dead-lettered. The rule behind it
(``processing/worker.py``): a ``StoreUnavailable`` never counts an attempt, so
however long the outage, it cannot use up ``WORKER_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import pytest

from core.envelope import SOURCE_JSON, LogEnvelope
from processing.models import QueueMessage
from processing.queues import get_queue
from tests.reliability.checks import assert_processed_exactly_once, records_of, wait_for
from tests.reliability.conftest import unique_tenants
from tests.reliability.load import SentLog, log_text
from tests.reliability.services import WorkerProcess

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# One attempt only: a single counted failure would dead-letter the log at once.
MAX_ATTEMPTS = 1


def publish(tenants: list[str], count: int) -> list[SentLog]:
    logs = []
    for number in range(count):
        log = SentLog(tenants[number % len(tenants)], f"store-{number:03d}", log_text(number, 30))
        envelope = LogEnvelope(log.tenant_id, log.log_id, SOURCE_JSON, log.text)
        log.message_ids.append(get_queue().publish(envelope))
        log.statuses.append(202)
        logs.append(log)
    return logs


def retries_for_store_outage(worker: WorkerProcess) -> dict[str, list[tuple[int, float]]]:
    """Per message: (delivery attempt, delay) of every retry the worker scheduled because of the store."""
    retries: dict[str, list[tuple[int, float]]] = {}
    for line in worker.log_lines("log retry scheduled"):
        if line.get("error_type") == "StoreUnavailable":
            retries.setdefault(line["message_id"], []).append(
                (line["delivery_attempt"], line["delay_seconds"])
            )
    return retries


def wait_for_retries(worker: WorkerProcess, logs: list[SentLog], at_least: int, timeout: float) -> None:
    """Until every message was given back at least ``at_least`` times because of the store."""

    def retried_enough() -> bool:
        retries = retries_for_store_outage(worker)
        return all(len(retries.get(log.message_ids[0], [])) >= at_least for log in logs)

    wait_for(retried_enough, timeout=timeout, interval=0.5, message=f"{at_least} retries per message")


def assert_backed_off(retries: dict[str, list[tuple[int, float]]], logs: list[SentLog]) -> None:
    assert set(retries) == {log.message_ids[0] for log in logs}, "a message was never retried"
    for message_id, scheduled in retries.items():
        delays = [delay for _, delay in sorted(scheduled)]
        assert delays == sorted(delays), f"{message_id}: delays not growing: {delays}"
        assert delays[-1] > delays[0], f"{message_id}: no backoff: {delays}"


@pytest.mark.postgres
def test_a_store_outage_is_waited_out_without_crash_loop_or_dead_letters_on_the_database(services):
    tenants = unique_tenants("acme", "beta_inc")
    switch = services.directory / "store-down"
    switch.touch()  # the store is down from the start
    worker = services.worker(
        "--concurrency",
        "4",
        LOG_STORE_BACKEND="tests.reliability.outage_store.SwitchableOutageStore",
        STORE_OUTAGE_SWITCH=str(switch),
        WORKER_MAX_ATTEMPTS=MAX_ATTEMPTS,
    )
    logs = publish(tenants, 8)

    wait_for_retries(worker, logs, at_least=4, timeout=60)
    assert worker.running() and worker.starts == 1
    assert not records_of(tenants), "the store was down, yet something was stored"
    assert not QueueMessage.objects.filter(state=QueueMessage.STATE_DEAD).exists()
    # Backoff, not a hot loop: 0.2 s doubling to 1 s between deliveries.
    assert max(QueueMessage.objects.values_list("delivery_attempts", flat=True)) <= 15

    switch.unlink()  # the store is back
    wait_for(lambda: not QueueMessage.objects.exists(), timeout=60, message="the queue to drain")

    assert worker.running() and worker.starts == 1
    assert_processed_exactly_once(logs, tenants=tenants)
    assert_backed_off(retries_for_store_outage(worker), logs)
    assert not worker.log_lines("log dead-lettered")
