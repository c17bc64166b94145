"""The tenant admin's part of the data lifecycle: retention on the change page; deleting erases the logs.

And the whole story of the issue on the embedded setup: an operator sets a 1-day
original-text retention in the admin, logs come in through /ingest and the worker,
a day passes (injected clock), the sweep runs: originals are gone, redacted records
stay, and the console says so.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from console.tests.console_support import ConsoleTest, add_processed, console_url
from tenants import lifecycle
from tenants.models import Tenant
from tenants.stores import STATUS_PROCESSED, STATUSES, StoreUnavailable, get_store


def change_form(tenant: Tenant, **changes) -> dict:
    form = {
        "name": tenant.name,
        "active": "on",
        "rate_limit_per_minute": str(tenant.rate_limit_per_minute),
        "retention_days": "" if tenant.retention_days is None else str(tenant.retention_days),
        "original_text_retention_days": ""
        if tenant.original_text_retention_days is None
        else str(tenant.original_text_retention_days),
        "staff": list(tenant.staff.values_list("pk", flat=True)),
    }
    form.update(changes)
    return form


class TestRetentionInTheAdmin(ConsoleTest):
    @pytest.fixture(autouse=True)
    def login(self, console_setup):
        self.client.force_login(self.users.superuser)

    def test_both_retentions_are_on_the_change_page_and_saved(self):
        url = reverse("admin:tenants_tenant_change", args=["acme"])
        page = self.client.get(url).content.decode()

        response = self.client.post(
            url, change_form(self.acme, retention_days="90", original_text_retention_days="0")
        )

        assert 'name="retention_days"' in page and 'name="original_text_retention_days"' in page
        assert response.status_code == 302
        self.acme.refresh_from_db()
        assert (self.acme.retention_days, self.acme.original_text_retention_days) == (90, 0)

    def test_empty_keeps_and_zero_days_of_records_is_refused(self):
        url = reverse("admin:tenants_tenant_change", args=["acme"])

        kept = self.client.post(
            url, change_form(self.acme, retention_days="", original_text_retention_days="")
        )
        self.acme.refresh_from_db()
        refused = self.client.post(url, change_form(self.acme, retention_days="0"))

        assert kept.status_code == 302
        assert (self.acme.retention_days, self.acme.original_text_retention_days) == (None, None)
        assert refused.status_code == 200
        assert "Keep logs at least 1 day" in refused.content.decode()

    def test_the_changelist_shows_the_retentions(self):
        page = self.client.get(reverse("admin:tenants_tenant_changelist")).content.decode()

        assert "Retention days" in page and "Original text retention days" in page


class TestDeletingATenant(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        for number in range(3):
            add_processed("acme", f"log-{number}")
        add_processed("globex", "theirs")
        self.client.force_login(self.users.superuser)

    def test_the_confirmation_page_counts_the_logs_that_go_too(self):
        page = self.client.get(reverse("admin:tenants_tenant_delete", args=["acme"])).content.decode()

        assert "All 3 log(s) of this tenant in the log store" in page

    def test_deleting_in_the_admin_erases_its_logs_and_says_so_in_the_history(self):
        response = self.client.post(reverse("admin:tenants_tenant_delete", args=["acme"]), {"post": "yes"})

        assert response.status_code == 302
        assert not Tenant.objects.filter(pk="acme").exists()
        assert get_store().counts("acme") == dict.fromkeys(STATUSES, 0)
        assert get_store().counts("globex")[STATUS_PROCESSED] == 1
        messages = LogEntry.objects.filter(object_id="acme").values_list("change_message", flat=True)
        assert "Erased all 3 log(s) of tenant acme with the tenant." in list(messages)

    def test_the_delete_action_erases_the_logs_of_every_selected_tenant(self):
        self.client.post(
            reverse("admin:tenants_tenant_changelist"),
            {"action": "delete_selected", "_selected_action": ["acme", "globex"], "post": "yes"},
        )

        assert not Tenant.objects.exists()
        assert get_store().list_tenants() == []

    def test_deleting_outside_the_admin_erases_the_logs_too(self):
        Tenant.objects.filter(pk="acme").delete()

        assert get_store().counts("acme") == dict.fromkeys(STATUSES, 0)
        assert get_store().counts("globex")[STATUS_PROCESSED] == 1

    def test_with_the_store_down_the_tenant_is_not_deleted(self, settings):
        settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

        with pytest.raises(StoreUnavailable), transaction.atomic():
            self.acme.delete()

        assert Tenant.objects.filter(pk="acme").exists()


@pytest.mark.django_db(transaction=True)
class TestOneDayOfOriginalText(ConsoleTest):
    """Issue 16's "done when", on the embedded setup: database queue and store, the real worker."""

    def test_originals_disappear_after_the_sweep_while_redacted_records_stay(self, settings, monkeypatch):
        settings.QUEUE_BACKEND = "database"
        settings.LOG_STORE_BACKEND = "database"
        settings.INGEST_AUTH = "open"
        self.client.force_login(self.users.superuser)
        self.client.post(
            reverse("admin:tenants_tenant_change", args=["acme"]),
            change_form(self.acme, original_text_retention_days="1"),
        )
        for number in range(3):
            body = {"tenant_id": "acme", "log_id": f"call-{number}", "text": f"Call {number} from 555-0199"}
            assert self.client.post("/ingest", body, content_type="application/json").status_code == 202
        call_command("run_worker", "--drain", "--drain-idle-seconds", "0.3", stdout=io.StringIO())
        before = get_store().get("acme", "call-1")
        assert before.original_text == "Call 1 from 555-0199"
        assert before.original_text_expires_at == before.received_at + timedelta(days=1)

        monkeypatch.setattr(lifecycle, "utc_now", lambda: timezone.now() + timedelta(days=1, minutes=1))
        out = io.StringIO()
        call_command("expire_logs", stdout=out)

        assert "cleared the original text of 3" in out.getvalue()
        for number in range(3):
            record = get_store().get("acme", f"call-{number}")
            assert (record.original_text, record.modified_data) == ("", f"Call {number} from [REDACTED]")
            assert record.status == STATUS_PROCESSED
        assert get_store().counts("acme")[STATUS_PROCESSED] == 3
        self.client.force_login(self.users.acme_reader)
        page = self.client.get(console_url("log_detail", "acme", "call-1")).content.decode()
        assert "Not kept: its tenant stores no original text, or it expired" in page
        assert "555-0199" not in page
