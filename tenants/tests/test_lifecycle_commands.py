"""``expire_logs``, ``erase_logs`` and the retention flags of ``create_tenant``, on the database store.

The clock is injected (``tenants.lifecycle.utc_now``); nothing sleeps.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from core.envelope import SOURCE_JSON, LogEnvelope
from core.records import STATUS_PROCESSED, STATUS_RETRYING, STATUSES, Retention
from tenants import lifecycle
from tenants.models import Tenant
from tenants.retention import retention_of
from tenants.stores import get_store

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def write(
    tenant_id: str, log_id: str, *, minutes: float = 0, retention: Retention, fail: bool = False
) -> None:
    received = RECEIVED + timedelta(minutes=minutes)
    envelope = LogEnvelope(
        tenant_id, log_id, SOURCE_JSON, f"{log_id}: call 555-0199", received_at=received.isoformat()
    )
    if fail:
        get_store().record_failure(envelope, error="boom", message_id="m", retention=retention)
        return
    get_store().save_result(
        envelope,
        modified_data=f"{log_id}: call [REDACTED]",
        message_id="m",
        processed_at=received + timedelta(seconds=3),
        retention=retention,
    )


def run(command: str, *args: str) -> list[str]:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue().splitlines()


def at(moment: datetime, monkeypatch) -> None:
    monkeypatch.setattr(lifecycle, "utc_now", lambda: moment)


def standard(days: int = 30, original_days: int = 7, minutes: float = 0) -> Retention:
    return retention_of(days, original_days, RECEIVED + timedelta(minutes=minutes))


# -- expire_logs ------------------------------------------------------------------------


def test_expire_logs_deletes_expired_logs_and_clears_expired_original_text_in_batches(monkeypatch):
    for index in range(5):
        write("acme", f"old-{index}", retention=retention_of(1, 1, RECEIVED - timedelta(days=40)))
    for index in range(3):
        write("acme", f"recent-{index}", retention=standard())
    write("acme", "failing", retention=standard(), fail=True)
    write("beta_inc", "forever", retention=retention_of(None, None, RECEIVED))
    at(RECEIVED + timedelta(days=8), monkeypatch)

    output = run("expire_logs", "--batch-size", "2")

    assert output[:3] == [
        "Deleted 2 expired record(s) (2 so far).",
        "Deleted 2 expired record(s) (4 so far).",
        "Deleted 1 expired record(s) (5 so far).",
    ]
    assert output[3:5] == [
        "Cleared the original text of 2 record(s) (2 so far).",
        "Cleared the original text of 2 record(s) (4 so far).",
    ]
    assert output[-1] == (
        "Retention sweep at 2026-11-09 12:00:00 UTC: deleted 5 expired record(s), cleared the original "
        "text of 4."
    )
    store = get_store()
    assert [record.log_id for record in store.list_logs("acme").records] == [
        "recent-2",
        "recent-1",
        "recent-0",
        "failing",
    ]
    recent = store.get("acme", "recent-0")
    assert (recent.original_text, recent.modified_data) == ("", "recent-0: call [REDACTED]")
    assert store.get("acme", "failing").original_text == ""
    assert store.get("beta_inc", "forever").original_text == "forever: call 555-0199"
    assert store.counts("acme") == {**dict.fromkeys(STATUSES, 0), STATUS_PROCESSED: 3, STATUS_RETRYING: 1}


def test_expire_logs_is_idempotent(monkeypatch):
    write("acme", "old", retention=retention_of(1, 1, RECEIVED))
    at(RECEIVED + timedelta(days=2), monkeypatch)
    run("expire_logs")

    assert run("expire_logs") == [
        "Retention sweep at 2026-11-03 12:00:00 UTC: deleted 0 expired record(s), cleared the original text of 0."
    ]


def test_expire_logs_keeps_what_is_not_due_yet(monkeypatch):
    write("acme", "recent", retention=standard())
    at(RECEIVED + timedelta(days=6, hours=23), monkeypatch)

    run("expire_logs")

    assert get_store().get("acme", "recent").original_text == "recent: call 555-0199"


def test_expire_logs_refuses_a_batch_size_below_one():
    with pytest.raises(CommandError, match="--batch-size"):
        run("expire_logs", "--batch-size", "0")


def test_expire_logs_with_the_store_down_is_a_command_error(settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    with pytest.raises(CommandError, match="unavailable"):
        run("expire_logs")


# -- the retention a record gets ----------------------------------------------------------


def test_an_original_text_already_expired_when_written_is_not_stored():
    """A backlog worked off late (or a retry after the sweep) never brings the original text back."""
    late = retention_of(30, 7, RECEIVED, now=RECEIVED + timedelta(days=8))
    on_time = retention_of(30, 7, RECEIVED, now=RECEIVED + timedelta(days=1))

    assert (late.keep_original, late.original_text_expires_at) == (False, None)
    assert late.expires_at == RECEIVED + timedelta(days=30)
    assert on_time.original_text_expires_at == RECEIVED + timedelta(days=7)


def test_zero_days_never_keeps_the_original_and_the_text_never_outlives_the_record():
    never = retention_of(30, 0, RECEIVED)
    capped = retention_of(3, 7, RECEIVED)

    assert (never.keep_original, never.original_text_expires_at) == (False, None)
    assert capped.original_text_expires_at == capped.expires_at == RECEIVED + timedelta(days=3)


# -- erase_logs -------------------------------------------------------------------------


@pytest.fixture
def logs():
    for minute in range(10):
        write("acme", f"log-{minute}", minutes=minute * 60, retention=standard())
        write("beta_inc", f"log-{minute}", minutes=minute * 60, retention=standard())


@pytest.mark.usefixtures("logs")
def test_erase_logs_erases_a_received_range_with_progress_and_nothing_else():
    output = run(
        "erase_logs",
        "acme",
        "--since",
        "2026-11-01T14:00:00Z",
        "--until",
        "2026-11-01T18:00",
        "--batch-size",
        "3",
    )

    assert output == [
        "Erasing the logs of acme: received from 2026-11-01 14:00:00 UTC to before 2026-11-01 18:00:00 UTC.",
        "Erased 3 log(s) of acme (3 so far).",
        "Erased 1 log(s) of acme (4 so far).",
        "Done: erased 4 log(s) of acme (received from 2026-11-01 14:00:00 UTC to before 2026-11-01 "
        "18:00:00 UTC).",
    ]
    left = [record.log_id for record in get_store().list_logs("acme").records]
    assert left == ["log-9", "log-8", "log-7", "log-6", "log-1", "log-0"]
    assert len(get_store().list_logs("beta_inc").records) == 10
    assert get_store().counts("acme")[STATUS_PROCESSED] == 6


@pytest.mark.usefixtures("logs")
def test_erase_logs_takes_dates_and_open_ended_ranges():
    run("erase_logs", "acme", "--since", "2026-11-01T20:00:00+00:00")
    run("erase_logs", "acme", "--until", "2026-11-01T13:00:00Z")

    assert [record.log_id for record in get_store().list_logs("acme").records] == [
        f"log-{minute}" for minute in range(7, 0, -1)
    ]
    run("erase_logs", "acme", "--since", "2026-11-01", "--until", "2026-11-02")
    assert get_store().list_logs("acme").records == []


@pytest.mark.usefixtures("logs")
def test_everything_needs_all_and_all_takes_no_range():
    with pytest.raises(CommandError, match="--all"):
        run("erase_logs", "acme")
    with pytest.raises(CommandError, match="--all erases every log"):
        run("erase_logs", "acme", "--all", "--since", "2026-11-01")
    assert get_store().counts("acme")[STATUS_PROCESSED] == 10

    output = run("erase_logs", "acme", "--all")

    assert output[-1] == "Done: erased 10 log(s) of acme (all of them, whenever received)."
    assert get_store().counts("acme") == dict.fromkeys(STATUSES, 0)
    assert get_store().counts("beta_inc")[STATUS_PROCESSED] == 10


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["../beta", "--all"], "tenant id"),
        (["acme", "--since", "yesterday"], "--since"),
        (["acme", "--since", "2026-11-02", "--until", "2026-11-01"], "earlier"),
        (["acme", "--all", "--batch-size", "0"], "--batch-size"),
        (["acme", "--all", "--pause", "-1"], "--pause"),
        (["acme", "--all", "--user", "nobody"], "No user"),
    ],
)
def test_erase_logs_refuses_what_it_cannot_do(args, error):
    with pytest.raises(CommandError, match=error):
        run("erase_logs", *args)


@pytest.mark.usefixtures("logs")
def test_with_a_user_the_erasure_goes_into_the_tenants_admin_history():
    Tenant.objects.create(id="acme", name="Acme Corp")
    operator = User.objects.create_user("ops", is_staff=True)

    run("erase_logs", "acme", "--until", "2026-11-01T15:00:00Z", "--user", "ops")

    entry = LogEntry.objects.get(object_id="acme")
    assert (entry.user, entry.object_repr) == (operator, "Acme Corp")
    assert entry.change_message == (
        "Erased 3 log(s) received before 2026-11-01 15:00:00 UTC (manage.py erase_logs)."
    )


def test_a_store_failure_mid_erasure_says_how_far_it_got(settings, monkeypatch):
    settings.LOG_STORE_BACKEND = "memory"
    store = get_store()
    for minute in range(6):
        write("acme", f"log-{minute}", minutes=minute, retention=standard())
    original = type(store).erase_logs
    calls = []

    def failing_after_one_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            self.unavailable = True
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(store), "erase_logs", failing_after_one_batch)

    with pytest.raises(CommandError, match="after 2 log"):
        run("erase_logs", "acme", "--all", "--batch-size", "2")


# -- create_tenant ------------------------------------------------------------------------


def test_create_tenant_sets_both_retentions():
    run("create_tenant", "acme", "--retention-days", "90", "--original-text-retention-days", "1")

    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.retention_days, tenant.original_text_retention_days) == (90, 1)


def test_create_tenant_keep_and_zero():
    output = run("create_tenant", "acme", "--retention-days", "keep", "--original-text-retention-days", "0")

    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.retention_days, tenant.original_text_retention_days) == (None, 0)
    assert "logs kept without limit, original text never stored" in output[0]


def test_create_tenant_defaults_to_the_models_retention():
    run("create_tenant", "acme")

    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.retention_days, tenant.original_text_retention_days) == (30, 7)


@pytest.mark.parametrize(
    "args", [["--retention-days", "0"], ["--retention-days", "-3"], ["--original-text-retention-days", "x"]]
)
def test_create_tenant_refuses_nonsensical_retention(args):
    with pytest.raises(CommandError):
        run("create_tenant", "acme", *args)
    assert not Tenant.objects.filter(pk="acme").exists()
