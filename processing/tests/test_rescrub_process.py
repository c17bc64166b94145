"""manage.py rescrub as a real process: killed with SIGKILL mid-run, then run again.

The subprocess opens the shared test database (see test_worker_process). Nothing of
the killed run is lost or redone: the second run re-scrubs exactly the records the
first did not reach, the ones it did keep their write (``updated_at``), and in the
end every record holds the new policy's text and version once. The cursor the
killed run printed last resumes a third way, reading none of what was done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from core.envelope import SOURCE_JSON, LogEnvelope
from core.records import ProcessedLog
from processing.tests.test_worker_process import database_url
from tenants.models import StoredLog, Tenant
from tenants.redaction_policies import save_redaction_policy
from tenants.stores.database import DatabaseLogStore

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOGS = 3000
PAGE_SIZE = "25"
WAIT_LIMIT = 120.0


def seed(tenant_id: str) -> None:
    now = datetime.now(UTC)
    store = DatabaseLogStore()
    results = []
    for index in range(LOGS):
        envelope = LogEnvelope(
            tenant_id,
            f"log-{index:05d}",
            SOURCE_JSON,
            f"user {index} called 555-0199 about order {index}",
            received_at=(now - timedelta(seconds=index)).isoformat(),
        )
        results.append(ProcessedLog(envelope, envelope.text.replace("555-0199", "[REDACTED]"), "m", now))
    store.save_results(results)


def rescrub_process(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
    output = tmp_path / f"{name}.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dataproc_site.test_settings",
        "DATABASE_URL": database_url(),
        "LOG_STORE_BACKEND": "database",
    }
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "rescrub", "acme", "--page-size", PAGE_SIZE, *args],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, output


def page_lines(output: Path) -> list[str]:
    return [line for line in output.read_text().splitlines() if ": page " in line]


def versions() -> dict[str, tuple[int, datetime]]:
    return {
        log_id: (version, updated_at)
        for log_id, version, updated_at in StoredLog.objects.filter(tenant_id="acme").values_list(
            "log_id", "policy_version", "updated_at"
        )
    }


def test_a_rescrub_killed_mid_run_is_finished_by_running_it_again_each_record_once(tmp_path):
    acme = Tenant.objects.create(id="acme")
    seed("acme")
    save_redaction_policy(acme, {"detectors": {"phone": {"replacement": "typed"}}}, created_by="test")

    process, output = rescrub_process(tmp_path, "killed")
    deadline = time.monotonic() + WAIT_LIMIT
    while len(page_lines(output)) < 4:
        assert process.poll() is None, f"rescrub ended before it could be killed:\n{output.read_text()}"
        assert time.monotonic() < deadline, output.read_text()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    after_kill = versions()
    done = {log_id for log_id, (version, _) in after_kill.items() if version == 1}
    assert 4 * int(PAGE_SIZE) <= len(done) < LOGS, "the kill came after the run had finished"
    last_cursor = page_lines(output)[-1].rsplit("--from ", 1)[1]

    # Going on from the cursor it printed reads only what follows it...
    resumed, resumed_output = rescrub_process(tmp_path, "resumed", "--from", last_cursor)
    assert resumed.wait(timeout=WAIT_LIMIT) == 0, resumed_output.read_text()
    summary = resumed_output.read_text().splitlines()[-1]
    assert "re-scrubbed with policy version 1" in summary
    examined = int(summary.split(": done. ")[1].split(" examined")[0])
    assert examined <= LOGS - 4 * int(PAGE_SIZE)

    # ...and running it again from the start finds everything done, and writes nothing.
    again, again_output = rescrub_process(tmp_path, "again")
    assert again.wait(timeout=WAIT_LIMIT) == 0, again_output.read_text()
    assert f"{LOGS} examined: 0 re-scrubbed with policy version 1, {LOGS} already at it" in (
        again_output.read_text()
    )

    final = versions()
    assert {version for version, _ in final.values()} == {1}
    for log_id in done:  # written by the killed run: never again
        assert final[log_id] == after_kill[log_id]
    texts = set(StoredLog.objects.filter(tenant_id="acme").values_list("modified_data", flat=True))
    assert all("[PHONE]" in text and "555-0199" not in text for text in texts)


def test_sigterm_stops_a_rescrub_between_pages_and_says_how_to_go_on(tmp_path):
    acme = Tenant.objects.create(id="acme")
    seed("acme")
    save_redaction_policy(acme, {"detectors": {"phone": {"replacement": "typed"}}}, created_by="test")

    process, output = rescrub_process(tmp_path, "terminated")
    deadline = time.monotonic() + WAIT_LIMIT
    while len(page_lines(output)) < 2:
        assert process.poll() is None, output.read_text()
        assert time.monotonic() < deadline, output.read_text()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 1
    text = output.read_text()
    assert "interrupted after " in text
    assert "Run it again to finish (add --from " in text
    done = sum(1 for version, _ in versions().values() if version == 1)
    assert 2 * int(PAGE_SIZE) <= done < LOGS
    assert done % int(PAGE_SIZE) == 0  # it stopped between pages
