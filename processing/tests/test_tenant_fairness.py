"""Noisy neighbours on the database queue: run_worker in-process, one tenant's 3,000-log backlog, another's one log.

The worker runs while the backlog drains; the other tenant's log arrives a
tenth of the way in. It must be processed next to the logs the worker already
held when it arrived, not behind the backlog (on a FIFO queue it would be the
last of 2,700). Counted in logs, not timed, so a slow machine cannot fail it.
"""

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections

from processing.consumers.pull import GROUP_PULL_MESSAGES
from processing.queues import get_queue
from processing.tests.conftest import make_envelope
from tenants.models import StoredLog
from tenants.stores import STATUS_PROCESSED

pytestmark = pytest.mark.django_db(transaction=True)

BACKLOG = 3000
CONCURRENCY = 8


def processed_count(tenant_id: str) -> int:
    return StoredLog.objects.filter(tenant_id=tenant_id, status=STATUS_PROCESSED).count()


def test_another_tenants_log_is_processed_before_most_of_a_3000_log_backlog():
    get_queue().publish_many(
        [
            make_envelope(f"entry {n} from 555-0199", tenant_id="noisy", log_id=f"a-{n}")
            for n in range(BACKLOG)
        ]
    )
    worker_error: list[BaseException] = []

    def drain() -> None:
        try:
            call_command(
                "run_worker",
                "--drain",
                "--drain-idle-seconds",
                "0.5",
                "--concurrency",
                str(CONCURRENCY),
                stdout=io.StringIO(),
            )
        except BaseException as exc:
            worker_error.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=drain)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while processed_count("noisy") < BACKLOG // 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        get_queue().publish(make_envelope("User 555-0100 logged in", tenant_id="quiet", log_id="b-1"))
    finally:
        worker.join(240)
    assert not worker.is_alive() and not worker_error, worker_error

    quiet = StoredLog.objects.get(tenant_id="quiet", log_id="b-1")
    assert quiet.status == STATUS_PROCESSED
    noisy = StoredLog.objects.filter(tenant_id="noisy", status=STATUS_PROCESSED)
    assert noisy.count() == BACKLOG
    ahead = noisy.filter(processed_at__gt=quiet.received_at, processed_at__lt=quiet.processed_at).count()
    behind = noisy.filter(processed_at__gt=quiet.processed_at).count()
    # Ahead of it: at most what the worker held when it arrived (one per handler and a
    # pull ahead; quick messages are pulled GROUP_PULL_MESSAGES at a time), and the
    # rest of the claim it came in.
    assert ahead <= 2 * (CONCURRENCY + GROUP_PULL_MESSAGES), (ahead, behind)
    assert behind >= BACKLOG // 2, (ahead, behind)
