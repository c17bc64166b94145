"""``manage.py erase_logs`` killed with ``kill -9`` in the middle: running it again finishes the job.

The real command, in its own process group with the production settings, erases
a tenant's logs batch by batch; after its second progress line the whole group is
killed. What was erased stays erased, nothing of another tenant is touched, and
the same command run again erases exactly what was left, after which the
tenant's counts are zero: on the database store and on Firestore (emulator).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from core.envelope import SOURCE_JSON, LogEnvelope
from core.records import STATUS_PROCESSED, STATUSES, ProcessedLog
from tenants.stores import get_store
from tests.reliability.conftest import unique_tenants
from tests.reliability.services import PYTHON, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOGS = 600
BATCH = 20


def seed(tenant_id: str, count: int) -> None:
    received = datetime.now(UTC) - timedelta(hours=1)
    results = [
        ProcessedLog(
            LogEnvelope(
                tenant_id,
                f"log-{index:04d}",
                SOURCE_JSON,
                f"call {index} at 555-0199",
                received_at=(received + timedelta(seconds=index)).isoformat(),
            ),
            f"call {index} at [REDACTED]",
            f"m-{index}",
            received + timedelta(seconds=index, milliseconds=500),
        )
        for index in range(count)
    ]
    store = get_store()
    for start in range(0, count, 80):
        assert all(store.save_results(results[start : start + 80]))


def stored(tenant_id: str) -> int:
    return sum(get_store().counts(tenant_id).values())


def test_an_erasure_killed_mid_run_is_finished_by_running_it_again(services, store_backend):
    tenant, bystander = unique_tenants("erased", "bystander")
    seed(tenant, LOGS)
    seed(bystander, 30)
    command = [
        PYTHON,
        "manage.py",
        "erase_logs",
        tenant,
        "--all",
        "--batch-size",
        str(BATCH),
        "--pause",
        "0.05",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=services.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    watchdog = threading.Timer(120, lambda: os.killpg(process.pid, signal.SIGKILL))
    watchdog.start()
    progress = []
    try:
        for line in process.stdout:
            if line.startswith("Erased "):
                progress.append(line)
                if len(progress) == 2:
                    os.killpg(process.pid, signal.SIGKILL)  # kill -9, mid-run
                    break
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()

    assert process.returncode == -signal.SIGKILL, progress
    left = stored(tenant)
    assert 0 < left <= LOGS - 2 * BATCH  # two batches were erased at least, and not everything

    again = io.StringIO()
    call_command("erase_logs", tenant, "--all", "--batch-size", str(BATCH), stdout=again)

    assert f"Done: erased {left} log(s) of {tenant}" in again.getvalue()
    assert get_store().counts(tenant) == dict.fromkeys(STATUSES, 0)
    assert get_store().list_logs(tenant).records == []
    assert get_store().counts(bystander) == {**dict.fromkeys(STATUSES, 0), STATUS_PROCESSED: 30}
    assert len(get_store().list_logs(bystander, limit=100).records) == 30
