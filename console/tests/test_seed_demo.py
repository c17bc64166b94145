"""``manage.py seed_demo``: what a new user gets after ``make run``, and that it is safe to repeat."""

import io
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models.signals import pre_delete

from console.management.commands.seed_demo import DEMO_TENANTS, demo_envelopes
from processing.pipeline import DEMO_FAILURE_MARKER
from processing.queues import get_queue
from tenants.apps import _erase_logs_of_deleted_tenant
from tenants.models import Tenant
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, get_store

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def debug(settings, monkeypatch):
    settings.DEBUG = True
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    match = re.search(r"^\s*Password:\s+(\S+)", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def queued_envelopes() -> list:
    messages = get_queue().pull(max_messages=1000, lease_seconds=60)
    return [message.envelope for message in messages]


def test_it_creates_the_demo_tenants(debug):
    seed()

    assert dict(Tenant.objects.values_list("id", "name")) == {
        "acme": "Acme Corp",
        "beta_inc": "Beta Inc",
        "globex": "Globex Corporation",
    }


def test_it_prints_the_console_url_and_working_credentials(debug):
    output = seed()

    password = printed_password(output)
    assert "http://127.0.0.1:8000/admin/" in output
    assert re.search(r"Username:\s+admin\b", output)
    admin = User.objects.get(username="admin")
    assert admin.is_active and admin.is_staff and admin.is_superuser
    assert admin.check_password(password)


def test_the_tenant_staff_user_sees_only_acme_and_no_original_text(debug):
    password = printed_password(seed())

    staff = User.objects.get(username="acme-staff")
    assert staff.is_active and staff.is_staff
    assert not staff.is_superuser
    assert staff.check_password(password)
    assert [tenant.id for tenant in staff.assigned_tenants.all()] == ["acme"]
    assert staff.has_perm("tenants.view_tenant")
    assert not staff.has_perm("tenants.view_original_text")


def test_it_queues_a_few_dozen_short_demo_logs_per_tenant(debug):
    seed()

    envelopes = queued_envelopes()
    for tenant_id in DEMO_TENANTS:
        logs = [envelope for envelope in envelopes if envelope.tenant_id == tenant_id]
        assert 20 <= len(logs) <= 60
        assert len({envelope.log_id for envelope in logs}) == len(logs)
        assert {envelope.source for envelope in logs} == {"json_upload", "text_upload"}
        assert all(len(envelope.text) <= 80 for envelope in logs)
        markers = [DEMO_FAILURE_MARKER.search(envelope.text) for envelope in logs]
        times = {marker.group("times") for marker in markers if marker}
        assert times == {"2", "always"}


def test_demo_logs_carry_personal_data_for_redaction_to_find(debug):
    seed()

    texts = [envelope.text for envelope in queued_envelopes()]
    assert any(re.search(r"\b555-\d{4}\b", text) for text in texts)
    assert any("@" in text for text in texts)


def test_it_never_seeds_the_log_id_of_the_readme_example(debug):
    seed()

    assert ("acme", "123") not in {(envelope.tenant_id, envelope.log_id) for envelope in queued_envelopes()}


def test_running_it_again_creates_nothing_twice_and_queues_no_more_logs(debug):
    first_password = printed_password(seed())
    queued = len(queued_envelopes())

    output = seed()

    assert Tenant.objects.count() == 3
    assert User.objects.filter(username__in=["admin", "acme-staff"]).count() == 2
    assert queued_envelopes() == []  # the first run's logs are leased above; none were added
    assert queued == 3 * len(demo_envelopes("acme"))
    assert "published before" in output
    second_password = printed_password(output)
    assert second_password != first_password
    assert User.objects.get(username="admin").check_password(second_password)
    assert not User.objects.get(username="admin").check_password(first_password)


def test_demo_logs_are_not_published_again_once_stored_even_for_a_recreated_tenant(debug):
    seed()
    for envelope in queued_envelopes():
        get_store().record_failure(envelope, error="seen", message_id="m")
    # The tenant row is lost while its logs stay in the store (a database restored without
    # it): deleting a tenant erases its logs, so the erasure hook is left out here.
    pre_delete.disconnect(sender=Tenant, dispatch_uid="tenants.erase-deleted-tenant")
    try:
        Tenant.objects.filter(id="globex").delete()
    finally:
        pre_delete.connect(
            _erase_logs_of_deleted_tenant, sender=Tenant, dispatch_uid="tenants.erase-deleted-tenant"
        )

    output = seed()

    assert Tenant.objects.filter(id="globex").exists()
    assert "Demo logs for globex were published before" in output
    assert queued_envelopes() == []


def test_the_password_comes_from_the_environment_when_set(debug, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-password-from-env")

    output = seed()

    assert printed_password(output) == "demo-password-from-env"
    assert User.objects.get(username="acme-staff").check_password("demo-password-from-env")


def test_it_can_skip_the_logs(debug):
    seed("--skip-logs")

    assert Tenant.objects.count() == 3
    assert queued_envelopes() == []


def test_it_refuses_to_run_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        seed()

    assert not Tenant.objects.exists()
    assert not User.objects.exists()


def test_once_worked_the_demo_shows_every_status(debug, settings):
    from processing.worker import process_message

    settings.PROCESSING_DEMO_FAILURES = True
    settings.PROCESSING_DELAY_PER_CHAR = 0
    settings.WORKER_MAX_ATTEMPTS = 3
    seed()
    queue, store = get_queue(), get_store()
    seen_statuses = set()

    for _ in range(200):
        messages = queue.pull(max_messages=100, lease_seconds=30)
        if not messages and queue.stats().depth == 0:
            break
        for message in messages:
            seen_statuses.add(process_message(queue, message).status)
        if not messages:
            time.sleep(0.05)

    assert STATUS_RETRYING in seen_statuses
    for tenant_id in DEMO_TENANTS:
        total = len(demo_envelopes(tenant_id))
        assert store.counts(tenant_id) == {
            STATUS_PROCESSED: total - 1,
            STATUS_RETRYING: 0,
            STATUS_DEAD_LETTERED: 1,
        }
