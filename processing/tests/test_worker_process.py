"""run_worker as a real process: kill -9 mid-batch and SIGTERM, against the shared test database.

The worker subprocess opens the test database itself (the SQLite test database is a
file for this reason; on PostgreSQL it is the test database on the same server).
Each log takes ~1 s of simulated work, so the worker is caught with messages in
flight. Exactly once in effect: every log ends ``processed`` with one attempt, and
the queue ends empty with nothing dead-lettered.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from processing.models import QueueMessage
from processing.queues.database import DatabaseQueue
from processing.tests.conftest import make_envelope
from tenants.models import StoredLog
from tenants.stores import STATUS_PROCESSED

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TEXT = "User 555-0199 accessed the system at 12:30:45 from 10.0.0.1"  # ~1 s at 0.02 s/char
DELAY_PER_CHAR = "0.02"
LEASE_SECONDS = "3"
WAIT_LIMIT = 90.0


def database_url() -> str:
    """The test database as a URL the subprocess can open."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    credentials = quote(database["USER"] or "")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"])
    location = f"{credentials}@" if credentials else ""
    location += database["HOST"] or ""
    if database["PORT"]:
        location += f":{database['PORT']}"
    return f"postgres://{location}/{database['NAME']}"


def start_worker(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
    output = tmp_path / f"{name}.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dataproc_site.test_settings",
        "DATABASE_URL": database_url(),
        "PROCESSING_DELAY_PER_CHAR": DELAY_PER_CHAR,
        "QUEUE_BACKEND": "database",
        "LOG_STORE_BACKEND": "database",
        "WORKER_SHUTDOWN_GRACE_SECONDS": "30",
    }
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--lease-seconds", LEASE_SECONDS, *args],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, output


def wait_until(condition, what: str, process: subprocess.Popen | None = None, output: Path | None = None):
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.05)
    log = output.read_text(errors="replace")[-3000:] if output else ""
    pytest.fail(f"gave up waiting for {what}\n{log}")


def logged_events(output: Path) -> list[dict]:
    """The worker's JSON log lines, parsed: the assertions read fields, not one encoder's spacing."""
    events = []
    for line in output.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def processed_count() -> int:
    return StoredLog.objects.filter(status=STATUS_PROCESSED).count()


def leased_count() -> int:
    return QueueMessage.objects.filter(available_at__gt=timezone.now(), delivery_attempts__gte=1).count()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(tmp_path):
    envelopes = [make_envelope(TEXT, log_id=f"crash-{n:02d}") for n in range(24)]
    DatabaseQueue().publish_many(envelopes)
    worker, output = start_worker(tmp_path, "first", "--concurrency", "6")
    try:
        wait_until(lambda: processed_count() >= 3 and leased_count() >= 1, "work in progress", worker, output)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        in_flight_at_kill = leased_count()
    finally:
        stop(worker)
    assert in_flight_at_kill >= 1
    assert processed_count() < len(envelopes)

    restarted, output = start_worker(tmp_path, "restart", "--concurrency", "6", "--drain")
    try:
        assert restarted.wait(WAIT_LIMIT) == 0, output.read_text(errors="replace")[-3000:]
    finally:
        stop(restarted)

    records = {row.log_id: row for row in StoredLog.objects.filter(tenant_id="acme")}
    assert sorted(records) == sorted(envelope.log_id for envelope in envelopes)
    assert {row.status for row in records.values()} == {STATUS_PROCESSED}
    assert {row.attempts for row in records.values()} == {1}
    assert {row.modified_data for row in records.values()} == {
        "User [REDACTED] accessed the system at 12:30:45 from 10.0.0.1"
    }
    assert QueueMessage.objects.count() == 0
    # The messages the killed worker held came back once their lease ran out.
    redelivered = [event for event in logged_events(output) if event.get("delivery_attempt") == 2]
    assert redelivered, output.read_text(errors="replace")[-3000:]


def test_sigterm_lets_in_flight_logs_finish_and_leaves_the_rest_queued(tmp_path):
    envelopes = [make_envelope(TEXT, log_id=f"term-{n:02d}") for n in range(8)]
    DatabaseQueue().publish_many(envelopes)
    worker, output = start_worker(tmp_path, "worker", "--concurrency", "3")
    try:
        wait_until(lambda: leased_count() == 3, "three logs in flight", worker, output)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(WAIT_LIMIT) == 0
    finally:
        stop(worker)

    assert any(event.get("reason") == "signal" for event in logged_events(output)), output.read_text()
    processed = processed_count()
    # Everything the worker had started was finished; nothing it held is stranded.
    assert processed >= 3
    assert leased_count() == 0
    assert processed + QueueMessage.objects.filter(state=QueueMessage.STATE_READY).count() == len(envelopes)
    assert StoredLog.objects.exclude(status=STATUS_PROCESSED).count() == 0
