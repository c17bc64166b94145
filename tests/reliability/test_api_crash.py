"""``kill -9`` of the API under load: of one gunicorn worker process, then of the whole server.

The promise: every log that got a 202 ends processed (the 202 is only sent
once the queue holds the log, so a dead API cannot lose one); a request that
got no answer may have been queued or not, and the client may send it again
with the same log id: the log is then processed once, not twice.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from processing.models import QueueMessage
from tests.reliability.checks import assert_processed_exactly_once, wait_for
from tests.reliability.conftest import unique_tenants
from tests.reliability.load import Load, retry_until_accepted, send

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(
    params=[
        pytest.param("database", marks=pytest.mark.postgres),
        pytest.param("google", marks=pytest.mark.emulators),
    ]
)
def backends(request) -> str:
    """Database queue and store, or Pub/Sub and Firestore on the emulators."""
    if request.param == "google":
        request.getfixturevalue("google_cloud")
    return request.param


def test_an_api_killed_under_load_loses_no_accepted_log_and_retries_make_no_duplicates(services, backends):
    tenants = unique_tenants("acme", "beta_inc", "globex")
    api = services.api(workers=2, threads=4)
    load = Load(
        lambda: api.base_url, tenants=tenants, total=200, threads=4, pause_seconds=0.01, timeout=5
    ).start()

    # One gunicorn worker dies with requests in flight; the master starts another.
    wait_for(lambda: load.count(lambda log: log.accepted) >= 40, timeout=30, message="traffic")
    os.kill(api.worker_pids()[0], signal.SIGKILL)
    # Then the whole server dies, and comes back at its address a moment later.
    wait_for(lambda: load.count(lambda log: log.accepted) >= 90, timeout=30, message="more traffic")
    api.kill()
    time.sleep(1.0)
    api.start()
    load.wait()

    assert {status for log in load.sent for status in log.statuses} <= {202, None}
    unanswered = [log for log in load.sent if not log.accepted]
    assert unanswered, "the kills cut no request short: nothing was tested"
    retry_until_accepted(api.base_url, unanswered)
    # A client whose answer got lost after the log was queued sends it again, too.
    resent = load.accepted[::10]
    for log in resent:
        assert send(api.base_url, log) == 202
    if backends == "database":
        assert QueueMessage.objects.count() > len(load.sent), "no duplicate on the queue"

    # The API is under test here, not the work: keep the processing short.
    worker = services.worker(
        "--concurrency", "16", "--drain", "--drain-idle-seconds", "1.5", PROCESSING_DELAY_PER_CHAR=0.001
    )
    assert worker.wait(120) == 0, worker.log_tail()

    assert len(load.sent) == 200 and all(log.accepted for log in load.sent)
    assert_processed_exactly_once(load.sent, tenants=tenants)
    assert not QueueMessage.objects.exists()
    assert len(worker.log_lines("log processed")) > len(load.sent), "the duplicates never reached the worker"
