"""run_worker's periodic retention sweep: at start, then every interval; off with --drain or 0."""

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from core.envelope import LogEnvelope
from core.records import Retention
from processing.management.commands.run_worker import Command
from processing.sweeper import PeriodicSweep
from tenants.lifecycle import SweepReport
from tenants.stores import get_store

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class CountedStop(threading.Event):
    """A stop event whose waits return at once: the n-th wait says "stop"."""

    def __init__(self, stop_at_wait: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop_at_wait = stop_at_wait

    def wait(self, timeout=None) -> bool:
        self.waits.append(timeout)
        return len(self.waits) >= self.stop_at_wait


def test_it_sweeps_at_once_and_then_once_per_interval_until_stopped():
    stop = CountedStop(stop_at_wait=3)
    reports = []
    sweeper = PeriodicSweep(
        900.0, stop, report=reports.append, sweep_once=lambda: SweepReport(now=NOW, deleted=len(reports))
    )

    sweeper._loop()

    assert sweeper.sweeps == 3
    assert stop.waits == [900.0, 900.0, 900.0]
    assert [report.deleted for report in reports] == [0, 1, 2]


def test_a_failing_sweep_is_logged_and_the_next_interval_tries_again(caplog):
    stop = CountedStop(stop_at_wait=2)
    calls = []

    def sweep_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("store down")
        return SweepReport(now=NOW)

    sweeper = PeriodicSweep(60.0, stop, sweep_once=sweep_once)
    sweeper._loop()

    assert len(calls) == 2
    assert sweeper.sweeps == 1
    assert "retention sweep failed" in caplog.text


def test_a_zero_interval_is_refused():
    with pytest.raises(ValueError):
        PeriodicSweep(0, threading.Event())


def test_the_thread_sweeps_the_real_store(settings):
    """Expired records go and expired original text is cleared, by the sweeper's own thread."""
    store = get_store()
    received = datetime.now(UTC) - timedelta(days=40)  # the sweep reads the real clock
    for log_id, retention in [
        ("expired", Retention(expires_at=received + timedelta(days=30))),
        ("text-due", Retention(expires_at=None, original_text_expires_at=received + timedelta(days=7))),
    ]:
        envelope = LogEnvelope(
            "acme", log_id, "json_upload", "call 555-0199", received_at=received.isoformat()
        )
        store.save_result(
            envelope,
            modified_data="call [REDACTED]",
            message_id="m",
            processed_at=received,
            retention=retention,
        )
    stop, swept = threading.Event(), threading.Event()
    reports = []

    def report(done):
        reports.append(done)
        swept.set()

    sweeper = PeriodicSweep(3600.0, stop, report=report)
    sweeper.start()
    try:
        assert swept.wait(30)
    finally:
        stop.set()
        sweeper.join(10)

    assert (reports[0].deleted, reports[0].cleared) == (1, 1)
    assert store.get("acme", "expired") is None
    assert store.get("acme", "text-due").original_text == ""


def test_run_worker_starts_it_from_the_setting_but_never_under_drain(settings, monkeypatch):
    started = []
    monkeypatch.setattr(PeriodicSweep, "start", lambda self: started.append(self.interval_seconds))
    command = Command(stdout=io.StringIO())
    command.shutdown = threading.Event()

    settings.EXPIRE_LOGS_INTERVAL_SECONDS = 120.0
    assert command._start_sweeper(drain=False) is not None
    assert command._start_sweeper(drain=True) is None
    settings.EXPIRE_LOGS_INTERVAL_SECONDS = 0
    assert command._start_sweeper(drain=False) is None
    assert started == [120.0]


def test_a_drain_run_says_it_does_not_sweep(settings):
    settings.EXPIRE_LOGS_INTERVAL_SECONDS = 3600.0
    stdout = io.StringIO()

    call_command("run_worker", "--drain", "--drain-idle-seconds", "0.2", stdout=stdout)

    started = json.loads(stdout.getvalue().splitlines()[0])
    assert started["event"] == "worker started"
    assert started["expire_logs_every_seconds"] is None
