"""The console on the Firestore store (emulator): the same pages and replay as on the database store.

The console only talks to ``BaseLogStore``; these tests show that holds on
Firestore's counters, query cursors and per-minute activity documents. Tenant ids
are unique per test because the emulator is shared by the whole session.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from console.tests.console_support import (
    PASSWORD,
    RecordingQueue,
    add_dead_letter,
    add_processed,
    add_retrying,
    console_url,
)
from tenants.models import Tenant
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_RETRYING, get_store
from tests.emulators import unique_name

pytestmark = pytest.mark.emulators

LOGS = 60


def log_ids(response) -> list[str]:
    return [record.log_id for record, _, _ in response.context["records"]]


class TestConsoleOnFirestore:
    @pytest.fixture(autouse=True)
    def on_firestore(self, db, firestore_log_store, client, settings):
        settings.QUEUE_BACKEND = "console.tests.console_support.RecordingQueue"
        RecordingQueue.replayed = []
        RecordingQueue.fail_after = None
        self.tenant_id = unique_name("acme")
        self.other_id = unique_name("globex")
        tenant = Tenant.objects.create(id=self.tenant_id, name="Acme on Firestore")
        Tenant.objects.create(id=self.other_id, name="Globex on Firestore")
        self.staff = User.objects.create_user("fs-staff", password=PASSWORD, is_staff=True)
        tenant.staff.add(self.staff)
        for number in range(LOGS):
            add_processed(self.tenant_id, f"log-{number:03d}", minutes_ago=LOGS - number)
        add_retrying(self.tenant_id, "flaky-1", minutes_ago=0.5, error="TimeoutError: upstream")
        add_dead_letter(self.tenant_id, "dead-1", minutes_ago=0.25)
        add_dead_letter(self.other_id, "other-dead")
        self.client = client
        self.client.force_login(self.staff)

    def test_the_overview_shows_counts_from_the_stores_counters(self):
        response = self.client.get(console_url("overview"))

        assert [row.tenant_id for row in response.context["rows"]] == [self.tenant_id]
        assert response.context["rows"][0].counts == {"processed": LOGS, "retrying": 1, "dead_lettered": 1}

    def test_cursor_pages_walk_every_log_once(self):
        url = console_url("tenant_logs", self.tenant_id)
        first = self.client.get(url + "?status=processed")
        second = self.client.get(url + first.context["pages"].older)
        back = self.client.get(url + second.context["pages"].newer)

        assert log_ids(first) + log_ids(second) == [f"log-{n:03d}" for n in range(LOGS - 1, -1, -1)]
        assert second.context["pages"].older is None
        assert log_ids(back) == log_ids(first)
        assert parse_qs(urlsplit(first.context["pages"].older).query)["status"] == ["processed"]

    def test_filters_and_search_by_log_id(self):
        url = console_url("tenant_logs", self.tenant_id)

        assert log_ids(self.client.get(url + "?status=dead_lettered")) == ["dead-1"]
        assert log_ids(self.client.get(url + "?log_id=flaky-1")) == ["flaky-1"]
        assert log_ids(self.client.get(url + "?log_id=other-dead")) == []

    def test_replaying_a_dead_letter(self):
        detail = console_url("log_detail", self.tenant_id, "dead-1")

        response = self.client.post(
            console_url("replay"), {"selected": f"{self.tenant_id}/dead-1", "next": detail}, follow=True
        )

        record = get_store().get(self.tenant_id, "dead-1")
        assert (record.status, record.attempts) == (STATUS_RETRYING, 0)
        assert [envelope.log_id for envelope in RecordingQueue.replayed] == ["dead-1"]
        assert response.context["record"].status == STATUS_RETRYING
        assert LogEntry.objects.get().object_id == self.tenant_id
        assert get_store().counts(self.tenant_id)[STATUS_DEAD_LETTERED] == 0

    def test_another_tenant_stays_out_of_reach(self):
        assert self.client.get(console_url("tenant_logs", self.other_id)).status_code == 404
        assert self.client.get(console_url("log_detail", self.other_id, "other-dead")).status_code == 404
        response = self.client.post(console_url("replay"), {"selected": f"{self.other_id}/other-dead"})
        assert response.status_code == 404
        assert get_store().get(self.other_id, "other-dead").status == STATUS_DEAD_LETTERED
