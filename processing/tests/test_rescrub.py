"""Re-scrub (processing.rescrub and manage.py rescrub): the current policy over stored logs, once."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from core.envelope import SOURCE_JSON, LogEnvelope
from core.records import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, ProcessedLog, Retention
from processing.management.commands.rescrub import parse_moment
from processing.rescrub import Rescrubber
from tenants.models import Tenant
from tenants.redaction_policies import save_redaction_policy
from tenants.stores import get_store
from tenants.stores.database import DatabaseLogStore
from tenants.stores.memory import MemoryLogStore

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=["memory", "database"])
def store(request, settings):
    settings.LOG_STORE_BACKEND = "memory" if request.param == "memory" else "database"
    store = get_store()
    assert isinstance(store, MemoryLogStore | DatabaseLogStore)
    return store


@pytest.fixture
def acme():
    return Tenant.objects.create(id="acme", name="Acme")


def put(
    store,
    log_id: str,
    text: str = "call 555-0199",
    *,
    minutes_ago: float = 1,
    tenant_id: str = "acme",
    attributes: dict | None = None,
    retention: Retention | None = None,
) -> None:
    """A log processed under the default policy (version 0), as the worker stored it."""
    envelope = LogEnvelope(
        tenant_id,
        log_id,
        SOURCE_JSON,
        text,
        received_at=(NOW - timedelta(minutes=minutes_ago)).isoformat(),
        attributes=attributes or {},
    )
    store.save_results(
        [
            ProcessedLog(
                envelope,
                text.replace("555-0199", "[REDACTED]"),
                f"m-{log_id}",
                NOW,
                {"phone": text.count("555-0199")},
                0,
                None,
                retention or Retention(),
            )
        ]
    )


def typed_phones(tenant: Tenant) -> None:
    save_redaction_policy(tenant, {"detectors": {"phone": {"replacement": "typed"}}}, created_by="test")


def test_it_applies_the_current_policy_from_the_original_text(store, acme):
    put(store, "a", "call 555-0199", attributes={"caller": "555-0100", "status": 200})
    typed_phones(acme)

    report = Rescrubber("acme").run()

    record = store.get("acme", "a")
    assert (record.modified_data, record.attributes, record.findings, record.policy_version) == (
        "call [PHONE]",
        {"caller": "[PHONE]", "status": 200},
        {"phone": 2},
        1,
    )
    assert (record.status, record.original_text, record.processed_at, record.message_id) == (
        STATUS_PROCESSED,
        "call 555-0199",
        NOW,
        "m-a",
    )
    assert (report.examined, report.rescrubbed, report.finished) == (1, 1, True)


def test_a_second_run_changes_nothing(store, acme):
    for index in range(5):
        put(store, f"log-{index}")
    typed_phones(acme)
    Rescrubber("acme").run()
    after_first = store.get_many([("acme", f"log-{index}") for index in range(5)])

    second = Rescrubber("acme").run()

    assert (second.examined, second.rescrubbed, second.current) == (5, 0, 5)
    assert store.get_many([("acme", f"log-{index}") for index in range(5)]) == after_first


def test_a_run_that_stopped_goes_on_from_its_cursor_and_does_each_log_once(store, acme, monkeypatch):
    for index in range(25):
        put(store, f"log-{index:02d}", minutes_ago=index)
    typed_phones(acme)
    writes = []
    original = store.save_rescrubbed

    def counting(tenant_id, log_id, **fields):
        writes.append(log_id)
        return original(tenant_id, log_id, **fields)

    monkeypatch.setattr(store, "save_rescrubbed", counting)

    first = Rescrubber("acme").run(page_size=10, limit=10)
    assert (first.examined, first.rescrubbed, first.finished) == (10, 10, False)
    assert first.next_cursor is not None
    rest = Rescrubber("acme").run(page_size=10, start_cursor=first.next_cursor)

    assert (rest.examined, rest.rescrubbed, rest.finished) == (15, 15, True)
    assert sorted(writes) == [f"log-{index:02d}" for index in range(25)]
    assert {record.policy_version for record in store.list_logs("acme", limit=100).records} == {1}


def test_an_interrupted_run_done_again_from_the_start_rewrites_nothing_it_did(store, acme):
    for index in range(12):
        put(store, f"log-{index:02d}", minutes_ago=index)
    typed_phones(acme)
    stops = iter([False, True])
    Rescrubber("acme").run(page_size=5, should_stop=lambda: next(stops, True))
    done = {record.log_id for record in store.list_logs("acme", limit=100).records if record.policy_version}

    again = Rescrubber("acme").run(page_size=5)

    assert len(done) == 5
    assert (again.rescrubbed, again.current) == (7, 5)


def test_logs_without_original_text_are_skipped_and_counted(store, acme):
    put(store, "kept")
    put(store, "never-kept", retention=Retention(keep_original=False))
    put(store, "expired", retention=Retention(original_text_expires_at=NOW - timedelta(seconds=1)))
    typed_phones(acme)

    report = Rescrubber("acme").run()

    assert (report.rescrubbed, report.original_not_kept, report.original_expired) == (1, 1, 1)
    assert store.get("acme", "never-kept").modified_data == "call [REDACTED]"
    assert store.get("acme", "expired").policy_version == 0
    assert store.get("acme", "kept").modified_data == "call [PHONE]"


def test_logs_not_processed_are_left_to_the_worker(store, acme):
    failing = LogEnvelope("acme", "failing", SOURCE_JSON, "call 555-0199", received_at=NOW.isoformat())
    store.record_failure(failing, error="boom", message_id="m-1")
    dead = dataclasses.replace(failing, log_id="dead")
    store.record_failure(dead, error="boom", message_id="m-2")
    store.mark_dead_lettered("acme", "dead")
    typed_phones(acme)

    report = Rescrubber("acme").run()

    assert (report.examined, report.not_processed, report.rescrubbed) == (2, 2, 0)
    assert store.get("acme", "failing").status == STATUS_RETRYING
    assert store.get("acme", "dead").status == STATUS_DEAD_LETTERED


def test_only_the_received_range_and_only_the_tenant_are_rescrubbed(store, acme):
    Tenant.objects.create(id="globex")
    put(store, "recent", minutes_ago=10)
    put(store, "old", minutes_ago=120)
    put(store, "other", minutes_ago=10, tenant_id="globex")
    typed_phones(acme)

    report = Rescrubber("acme").run(received_after=NOW - timedelta(hours=1))

    assert (report.examined, report.rescrubbed) == (1, 1)
    assert store.get("acme", "recent").policy_version == 1
    assert store.get("acme", "old").policy_version == 0
    assert store.get("globex", "other").policy_version == 0


def test_without_a_saved_policy_every_log_is_current(store, acme):
    put(store, "a")

    report = Rescrubber("acme").run()

    assert (report.policy_version, report.rescrubbed, report.current) == (0, 0, 1)


# -- the command ----------------------------------------------------------------------


def test_the_command_reports_progress_and_what_it_skipped(store, acme):
    for index in range(3):
        put(store, f"log-{index}", minutes_ago=index)
    put(store, "never-kept", retention=Retention(keep_original=False))
    typed_phones(acme)
    out = io.StringIO()

    call_command("rescrub", "acme", "--since", "1h", "--page-size", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("rescrub acme: policy version 1, logs received from ")
    pages = [line for line in lines if ": page " in line]
    assert len(pages) == 2
    assert "go on with --from " in pages[0]
    assert "--from" not in pages[1]
    assert "4 examined: 3 re-scrubbed with policy version 1, 0 already at it, 1 skipped" in lines[-2]
    assert lines[-1].endswith("their original text was not kept or has expired.")
    assert store.get("acme", "log-2").modified_data == "call [PHONE]"


def test_the_command_goes_on_from_a_cursor(store, acme):
    for index in range(4):
        put(store, f"log-{index}", minutes_ago=index)
    typed_phones(acme)
    first = Rescrubber("acme").run(page_size=2, limit=2)
    out = io.StringIO()

    call_command("rescrub", "acme", "--from", first.next_cursor, stdout=out)

    assert "2 examined: 2 re-scrubbed" in out.getvalue()
    assert store.get("acme", "log-3").policy_version == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nobody"], "no tenant 'nobody'"),
        (["acme", "--since", "yesterday"], "is not a time"),
        (["acme", "--since", "1h", "--until", "2h"], "--since must be earlier"),
        (["acme", "--from", "not-a-cursor"], "--from"),
    ],
)
def test_the_command_refuses_what_it_cannot_do(store, acme, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("rescrub", *arguments, stdout=io.StringIO())


def test_times_are_iso_8601_in_utc_or_an_age():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    assert parse_moment("90m", now=now) == datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert parse_moment("7d", now=now) == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert parse_moment("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_moment("2026-12-01T09:30:00Z") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert parse_moment("2026-12-01T10:30:00+01:00") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
