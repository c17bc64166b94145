"""Faults on the Google backends: a broker outage, a store outage, a worker killed with SIGKILL.

The emulators keep nothing across a restart, so after one the topology is set up
again (as ``setup_pubsub`` would) and nothing written before is relied upon.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from processing.consumers import consume
from processing.queues import get_queue, reset_queue
from processing.queues.pubsub_admin import ensure_topology
from processing.worker import process_message
from tenants.stores import STATUS_PROCESSED, StoreUnavailable, get_store
from tenants.stores.firestore import FirestoreLogStore
from tests.gcp.helpers import new_envelope, pull_raw, wait_for
from tests.reliability.services import database_url

pytestmark = [pytest.mark.emulators, pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def one_tenant_keeps_every_work_slot(settings):
    """These tests are about outages and crashes with one tenant; the per-tenant share of the
    streaming worker (tested in tests/gcp/test_pubsub_queue.py) would only add delayed
    redeliveries, which the emulator loses to streams that are gone."""
    settings.WORKER_TENANT_MAX_SHARE = 1


REPO_ROOT = Path(__file__).resolve().parents[2]


def ingest(client, tenant_id: str, log_id: str):
    return client.post(
        "/ingest",
        data=json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "User 555-0199 logged in"}),
        content_type="application/json",
    )


def test_ingest_and_ready_answer_503_while_pubsub_is_down_then_recover(
    client, google_backends, pubsub_emulator
):
    assert ingest(client, "outage-tenant", "before").status_code == 202

    pubsub_emulator.stop()
    try:
        started = time.monotonic()
        refused = ingest(client, "outage-tenant", "during")
        elapsed = time.monotonic() - started
        ready = client.get("/ready")
    finally:
        pubsub_emulator.start()

    assert refused.status_code == 503
    assert refused["Retry-After"]
    assert refused.json()["error"]
    assert elapsed < 5.0, f"/ingest took {elapsed:.1f} s to give up"
    assert ready.status_code == 503
    assert "queue" in ready.json()["detail"]

    ensure_topology()  # the restarted emulator starts empty
    wait_for(lambda: ingest(client, "outage-tenant", "after").status_code == 202, timeout=60, interval=1)
    assert client.get("/ready").status_code == 200


def test_the_worker_rides_out_a_firestore_outage_without_losing_or_repeating_work(
    google_backends, firestore_emulator, settings, monkeypatch
):
    monkeypatch.setattr(FirestoreLogStore, "timeout_seconds", 2.0)
    settings.WORKER_BACKOFF_BASE_SECONDS = 1.0
    settings.WORKER_BACKOFF_MAX_SECONDS = 4.0
    # Were outage retries counted as attempts, two would dead-letter every log.
    settings.WORKER_MAX_ATTEMPTS = 2
    tenant = f"fs-outage-{os.getpid()}-{int(time.time())}"
    envelopes = [new_envelope(tenant_id=tenant) for _ in range(8)]
    queue = get_queue()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def handler(message):
        outcome = process_message(queue, message)
        with lock:
            outcomes[outcome.action] += 1

    stop = threading.Event()
    consumer = threading.Thread(
        target=consume,
        args=(queue, handler),
        kwargs={"concurrency": 4, "lease_seconds": 10.0, "stop_event": stop},
        daemon=True,
    )
    firestore_emulator.stop()
    try:
        queue.publish_many(envelopes)
        consumer.start()
        wait_for(lambda: outcomes["retry"] >= len(envelopes), timeout=60, message="retries during the outage")
        assert outcomes["ack"] == outcomes["dead_letter"] == 0
    finally:
        firestore_emulator.start()

    store = get_store()

    def all_processed():
        try:
            records = [store.get(tenant, envelope.log_id) for envelope in envelopes]
        except StoreUnavailable:
            return False  # this client's channel is still reconnecting
        return all(record is not None and record.status == STATUS_PROCESSED for record in records)

    try:
        wait_for(all_processed, timeout=90, interval=1, message="every log processed after the outage")
    finally:
        stop.set()
        consumer.join(timeout=30)

    assert outcomes["dead_letter"] == 0
    for envelope in envelopes:
        record = store.get(tenant, envelope.log_id)
        assert record.attempts == 1, "an outage retry was counted as an attempt"
    assert store.counts(tenant)[STATUS_PROCESSED] == len(envelopes)
    assert pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=1) == []


def worker_command(*args: str) -> list[str]:
    return [sys.executable, str(REPO_ROOT / "manage.py"), "run_worker", *args]


def worker_environment(lease_seconds: int) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "dataproc_site.test_settings",
            "QUEUE_BACKEND": "pubsub",
            "LOG_STORE_BACKEND": "firestore",
            "GOOGLE_CLOUD_PROJECT": settings.GOOGLE_CLOUD_PROJECT,
            "PUBSUB_TOPIC": settings.PUBSUB_TOPIC,
            "PUBSUB_SUBSCRIPTION": settings.PUBSUB_SUBSCRIPTION,
            "PUBSUB_DEAD_LETTER_TOPIC": settings.PUBSUB_DEAD_LETTER_TOPIC,
            "PUBSUB_DEAD_LETTER_SUBSCRIPTION": settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION,
            # The worker reads the tenant registry (retention, redaction policies): the
            # test database, committed (the test is transactional).
            "DATABASE_URL": database_url(),
            # One tenant: its share of the work slots would make the worker give surplus
            # deliveries back with a delay, and the emulator routes such redeliveries to
            # the killed worker's dead stream (see below). The share has tests of its own.
            "WORKER_TENANT_MAX_SHARE": "1",
            "WORKER_LEASE_SECONDS": str(lease_seconds),
            "PROCESSING_DELAY_PER_CHAR": "0.05",  # the specified workload: 40 characters, 2 s
            "LOG_LEVEL": "WARNING",
        }
    )
    return environment


# The emulator sometimes stops handing out a subscription's messages altogether
# after a streaming-pull client is killed (its log shows NoSuchMethodError ...
# onRstStreamRead): the next worker then receives nothing at all, not even the
# messages nobody had pulled yet, while production Pub/Sub redelivers once the ack
# deadline passes. Such a wedged attempt proves nothing either way, so the kill is
# tried again on fresh topics; a loss (some logs redelivered, others never) fails
# at once, and so does an emulator that wedges every attempt.
KILL_ATTEMPTS = 3


class EmulatorWedged(Exception):
    """After the kill the subscription delivered nothing at all to a fresh worker."""


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)  # up to KILL_ATTEMPTS emulator restarts, each waiting out the lease
def test_kill_9_of_a_worker_loses_nothing(google_backends, pubsub_emulator, tmp_path, settings):
    for attempt in range(1, KILL_ATTEMPTS + 1):
        if attempt > 1:
            # A wedged emulator stays wedged: start a fresh one, then fresh topics on it.
            pubsub_emulator.restart()
            reset_queue()
            for name in google_backends:
                setattr(settings, name, f"{getattr(settings, name)}-{attempt}")
            ensure_topology()
        try:
            kill_a_worker_mid_batch_and_check_nothing_is_lost(tmp_path / f"attempt-{attempt}")
            return
        except EmulatorWedged:
            continue
    pubsub_emulator.restart()  # leave a working emulator to the tests after this one
    pytest.fail(f"the Pub/Sub emulator delivered nothing after the kill in all {KILL_ATTEMPTS} attempts")


def kill_a_worker_mid_batch_and_check_nothing_is_lost(log_dir: Path) -> None:
    log_dir.mkdir(parents=True)
    lease_seconds = 10
    tenant = f"kill-{os.getpid()}-{time.time_ns()}"
    envelopes = [new_envelope("x" * 30 + " 555-0199", tenant_id=tenant) for _ in range(24)]
    get_queue().publish_many(envelopes)
    store = get_store()
    environment = worker_environment(lease_seconds)

    with open(log_dir / "first.log", "wb") as first_log:
        first = subprocess.Popen(
            worker_command("--concurrency", "6"), env=environment, stdout=first_log, stderr=subprocess.STDOUT
        )
        try:
            wait_for(
                lambda: store.counts(tenant)[STATUS_PROCESSED] >= 6,
                timeout=60,
                message="the first worker's progress",
            )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
    processed_at_kill = store.counts(tenant)[STATUS_PROCESSED]
    assert processed_at_kill < len(envelopes), "the first worker finished before it could be killed"

    # What the killed worker held comes back once its lease (one extension step) runs out.
    with open(log_dir / "second.log", "wb") as second_log:
        second = subprocess.Popen(
            worker_command("--concurrency", "6"), env=environment, stdout=second_log, stderr=subprocess.STDOUT
        )
        try:
            remaining_work = (len(envelopes) - processed_at_kill) * 2.0 / 6
            try:
                wait_for(
                    lambda: store.counts(tenant)[STATUS_PROCESSED] == len(envelopes),
                    timeout=lease_seconds + remaining_work + 45,
                    interval=0.5,
                    message="every log processed after the kill",
                )
            except AssertionError:
                if store.counts(tenant)[STATUS_PROCESSED] == processed_at_kill:
                    raise EmulatorWedged() from None
                raise
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)

    for envelope in envelopes:
        record = store.get(tenant, envelope.log_id)
        assert record.status == STATUS_PROCESSED
        assert record.attempts == 1  # a redelivery of a stored result changed nothing
        assert record.modified_data.endswith("[REDACTED]")
    assert pull_raw(settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION, wait=1) == []
