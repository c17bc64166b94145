"""A poison message: a log the worker cannot process, however often it tries.

The promise: it is dead-lettered after ``WORKER_MAX_ATTEMPTS`` attempts with
its error recorded, without holding up the logs around it; once the cause is
fixed, a replay from the console (``store.mark_replayed`` then
``queue.replay``) processes it, once.

The worker runs in this process (``run_worker --drain``), so the cause, a bug
in redaction that one log's text sets off, can be put in and taken out. On the
database queue and store: on the Pub/Sub emulator a message published after a
streaming pull closed can be swallowed by the closed stream (the emulator fails
on the client's RST_STREAM and keeps routing to it), so the replay is not
observable there; dead-lettering on the emulators is tested in tests/gcp.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from processing import pipeline
from processing.tenant_redaction import scrub_log
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, get_store

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_ATTEMPTS = 3
POISON = "Caller 555-0142 ships to Zoë ✓ POISON"


class RedactionBug(Exception):
    pass


def buggy_scrub(redactor, text: str, attributes: dict):
    if "POISON" in text:
        raise RedactionBug("redaction gave up on a character it did not expect")
    return scrub_log(redactor, text, attributes)


@pytest.fixture
def database_backends(settings) -> None:
    settings.WORKER_MAX_ATTEMPTS = MAX_ATTEMPTS
    settings.INGEST_AUTH = "open"
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"


def drain() -> None:
    call_command("run_worker", "--drain", "--drain-idle-seconds", "2", "--concurrency", "4")


def ingest(client: Client, tenant_id: str, log_id: str, text: str) -> None:
    body = json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": text})
    assert client.post("/ingest", data=body, content_type="application/json").status_code == 202


@pytest.mark.postgres
def test_a_poison_log_is_dead_lettered_with_its_error_and_processed_once_replayed_after_the_fix(
    database_backends, monkeypatch
):
    from processing.models import QueueMessage

    tenant = f"acme-{uuid.uuid4().hex[:8]}"
    client = Client()
    monkeypatch.setattr(pipeline, "scrub_log", buggy_scrub)
    ingest(client, tenant, "before", "User 555-0100 logged in")
    ingest(client, tenant, "poison", POISON)
    ingest(client, tenant, "after", "User 555-0101 logged out")

    drain()

    store = get_store()
    dead = store.get(tenant, "poison")
    assert (dead.status, dead.attempts) == (STATUS_DEAD_LETTERED, MAX_ATTEMPTS)
    assert dead.last_error.startswith("RedactionBug: redaction gave up")
    assert dead.original_text == POISON and dead.modified_data is None
    # The logs around it went through.
    assert {store.get(tenant, log_id).status for log_id in ("before", "after")} == {STATUS_PROCESSED}
    [parked] = QueueMessage.objects.all()
    assert (parked.state, parked.log_id) == (QueueMessage.STATE_DEAD, "poison")

    monkeypatch.setattr(pipeline, "scrub_log", scrub_log)  # the fix is deployed
    staff = Client()
    staff.force_login(User.objects.create_superuser("oncall", "oncall@example.com", "x"))
    response = staff.post(reverse("admin:console_replay"), {"selected": [f"{tenant}/poison"]})
    assert response.status_code == 302
    replayed = store.get(tenant, "poison")
    assert (replayed.status, replayed.attempts) == (STATUS_RETRYING, 0)
    [queued] = QueueMessage.objects.all()
    assert (queued.state, queued.log_id) == (QueueMessage.STATE_READY, "poison")

    drain()

    record = store.get(tenant, "poison")
    assert (record.status, record.attempts) == (STATUS_PROCESSED, 1)
    assert record.modified_data == "Caller [REDACTED] ships to Zoë ✓ POISON"
    assert store.counts(tenant) == {STATUS_PROCESSED: 3, STATUS_RETRYING: 0, STATUS_DEAD_LETTERED: 0}
    assert not QueueMessage.objects.exists()
    served = client.get("/logs/poison", HTTP_X_TENANT_ID=tenant)
    assert (served.status_code, served.json()["status"]) == (200, STATUS_PROCESSED)


@pytest.mark.postgres
@pytest.mark.timeout(120)  # before the fix this drain never ended
def test_a_queued_payload_that_is_no_envelope_is_parked_and_holds_up_nothing(database_backends):
    """A row no worker can decode (a bug, a hand edit, a format change mid-deploy)."""
    from django.utils import timezone

    from processing.models import QueueMessage
    from processing.queues import get_queue
    from tests.reliability.load import log_text

    tenant = f"acme-{uuid.uuid4().hex[:8]}"
    client = Client()
    now = timezone.now()
    for payload in ("not json at all", '{"tenant_id": "acme"}', "[1, 2]"):
        QueueMessage.objects.create(payload=payload, available_at=now, published_at=now)
    for number in range(3):
        ingest(client, tenant, f"good-{number}", log_text(number, 30))

    drain()

    assert get_store().counts(tenant)[STATUS_PROCESSED] == 3
    parked = QueueMessage.objects.filter(state=QueueMessage.STATE_DEAD)
    assert sorted(parked.values_list("payload", flat=True)) == sorted(
        ["not json at all", '{"tenant_id": "acme"}', "[1, 2]"]
    )
    assert all(row.dead_lettered_at for row in parked)
    assert not QueueMessage.objects.filter(state=QueueMessage.STATE_READY).exists()
    assert get_queue().stats().dead_lettered == 3
