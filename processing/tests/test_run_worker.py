"""run_worker in-process: --drain processes the backlog on the database queue and store, then exits."""

import io
import json
import signal
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from processing.management.commands.run_worker import Command
from processing.models import QueueMessage
from processing.queues import get_queue
from processing.tests.conftest import make_envelope
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, get_store

# Handler threads use database connections of their own: they must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def run_worker(*args: str) -> list[dict]:
    """Run the command to completion; return its progress lines."""
    stdout = io.StringIO()
    call_command("run_worker", "--drain", "--drain-idle-seconds", "0.2", *args, stdout=stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_drain_processes_every_queued_log_and_exits():
    envelopes = [make_envelope(f"User 555-01{n:02d} logged in", log_id=f"log-{n}") for n in range(20)]
    get_queue().publish_many(envelopes)

    started, stopped = run_worker("--concurrency", "5")

    store = get_store()
    records = [store.get("acme", envelope.log_id) for envelope in envelopes]
    assert {record.status for record in records} == {STATUS_PROCESSED}
    assert records[7].modified_data == "User [REDACTED] logged in"
    assert QueueMessage.objects.count() == 0
    assert (started["event"], started["backend"], started["concurrency"]) == (
        "worker started",
        "DatabaseQueue",
        5,
    )
    assert (stopped["event"], stopped["reason"], stopped["outcomes"]) == (
        "worker stopped",
        "drained",
        {"ack": 20},
    )


def test_drain_on_an_empty_queue_exits_at_once():
    _started, stopped = run_worker()

    assert stopped["outcomes"] == {}


@override_settings(PROCESSING_DEMO_FAILURES=True, WORKER_MAX_ATTEMPTS=3)
def test_retries_and_dead_letters_run_to_the_end_under_drain():
    queue = get_queue()
    queue.publish(make_envelope("flaky [demo:fail=2]", log_id="flaky"))
    queue.publish(make_envelope("[demo:fail=always]", log_id="doomed"))

    _started, stopped = run_worker("--concurrency", "2")

    store = get_store()
    flaky, doomed = store.get("acme", "flaky"), store.get("acme", "doomed")
    assert (flaky.status, flaky.attempts) == (STATUS_PROCESSED, 3)
    assert (doomed.status, doomed.attempts) == (STATUS_DEAD_LETTERED, 3)
    assert stopped["outcomes"] == {"retry": 4, "ack": 1, "dead_letter": 1}
    stats = queue.stats()
    assert (stats.depth, stats.dead_lettered) == (0, 1)


def test_a_redelivered_processed_log_is_acked_without_a_second_result():
    queue = get_queue()
    envelope = make_envelope(log_id="twice")
    queue.publish(envelope)
    run_worker()
    first = get_store().get("acme", "twice")

    queue.publish(envelope)  # the same log again, as after a lost ack
    run_worker()

    again = get_store().get("acme", "twice")
    assert (again.processed_at, again.message_id, again.attempts) == (
        first.processed_at,
        first.message_id,
        first.attempts,
    )
    assert QueueMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--concurrency", "0"], "--concurrency"),
        (["--lease-seconds", "-1"], "--lease-seconds"),
    ],
)
def test_it_refuses_nonsensical_options(args, error):
    with pytest.raises(CommandError, match=error):
        call_command("run_worker", *args, stdout=io.StringIO())


def test_the_signal_handler_only_sets_the_stop_event():
    command = Command()
    command.shutdown = threading.Event()

    command._on_signal(signal.SIGTERM, None)

    assert command.shutdown.is_set()


def test_the_previous_signal_handlers_are_restored_after_the_command():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    run_worker()

    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@override_settings(WORKER_MAX_ATTEMPTS=2)
def test_drain_ends_with_an_error_once_only_messages_that_keep_failing_remain(monkeypatch):
    """A dead letter turned into a nack (here: every outcome) used to keep --drain waiting forever."""
    from processing import worker
    from processing.outcomes import RETRY, Outcome

    get_queue().publish(make_envelope("never gets done", log_id="stuck"))
    monkeypatch.setattr(worker, "decide", lambda *args, **kwargs: Outcome(RETRY, delay_seconds=0.0))
    stdout = io.StringIO()

    with pytest.raises(CommandError, match=r"--drain gave up: 1 message\(s\) kept failing"):
        call_command(
            "run_worker", "--drain", "--drain-idle-seconds", "0.2", "--concurrency", "2", stdout=stdout
        )

    stopped = json.loads(stdout.getvalue().splitlines()[-1])
    assert (stopped["event"], stopped["reason"]) == ("worker stopped", "stuck")
    assert stopped["outcomes"]["retry"] >= 3
    assert QueueMessage.objects.filter(log_id="stuck").count() == 1  # still queued, nothing lost


def test_a_message_past_its_work_deadline_counts_as_a_failed_attempt(monkeypatch, settings):
    settings.WORKER_MESSAGE_DEADLINE_SECONDS = 0.5
    settings.WORKER_MAX_ATTEMPTS = 1
    release = threading.Event()
    from processing import pipeline

    real_handle = pipeline.handle

    def hangs(envelope, attempt=1):
        if envelope.log_id == "hangs":
            release.wait(30)
        return real_handle(envelope, attempt=attempt)

    monkeypatch.setattr(pipeline, "handle", hangs)
    get_queue().publish_many([make_envelope(log_id="hangs"), make_envelope(log_id="fine")])
    try:
        # One handler: "fine" is only processed because the hung one was given up on.
        _started, stopped = run_worker("--concurrency", "1", "--lease-seconds", "0.3")
        record = get_store().get("acme", "hangs")
        assert (record.status, record.attempts) == (STATUS_DEAD_LETTERED, 1)
        assert record.last_error.startswith("WorkDeadlineExceeded")
        assert get_store().get("acme", "fine").status == STATUS_PROCESSED
        assert stopped["outcomes"]["expired"] == 1
    finally:
        release.set()
    # The handler that hung finishes at last: a late success is kept, as any redelivery's would be.
    assert wait_until(lambda: get_store().get("acme", "hangs").status == STATUS_PROCESSED)
