"""The console's search, download and erasure on the Firestore store (emulator).

Firestore has no text search: the page says what the bounded scan read, and its
Older link goes on from there until every match of the window was shown.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from console.tests.console_support import BASE_TIME, PASSWORD, add_processed, console_url
from tenants.models import Tenant
from tenants.stores import STATUS_PROCESSED, STATUSES, get_store
from tests.emulators import unique_name

pytestmark = pytest.mark.emulators


def log_ids(response) -> list[str]:
    return [record.log_id for record, _, _ in response.context["records"]]


class TestLifecycleOnFirestore:
    @pytest.fixture(autouse=True)
    def on_firestore(self, db, firestore_log_store, client, settings):
        settings.FIRESTORE_SEARCH_MAX_SCANNED = 10
        self.tenant_id = unique_name("acme")
        self.other_id = unique_name("globex")
        Tenant.objects.create(id=self.tenant_id, name="Acme on Firestore")
        Tenant.objects.create(id=self.other_id)
        for number in range(25):
            text = f"order {number} {'failed' if number % 4 == 0 else 'shipped'}"
            add_processed(self.tenant_id, f"log-{number:02d}", minutes_ago=number, text=text)
        add_processed(self.other_id, "log-00", text="order failed elsewhere")
        self.superuser = User.objects.create_superuser("fs-root", "root@example.com", PASSWORD)
        self.client = client
        self.client.force_login(self.superuser)
        self.window = {"received_after": (BASE_TIME - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")}

    def test_the_search_says_what_it_scanned_and_older_goes_on_until_every_match(self):
        url = console_url("tenant_logs", self.tenant_id)
        first = self.client.get(url, {"q": "FAILED", **self.window})
        seen, response = log_ids(first), first
        while response.context["pages"].older:
            response = self.client.get(url + response.context["pages"].older)
            seen += log_ids(response)

        bound = first.context["search_bound"]
        assert (bound.scanned, bound.max_scanned) == (10, 10)
        page = first.content.decode()
        assert "has no text search: this page read 10 logs" in page
        assert "(at most 10 per page)" in page
        assert seen == ["log-00", "log-04", "log-08", "log-12", "log-16", "log-20", "log-24"]

    def test_the_download_of_a_search_has_every_match_of_the_window(self):
        response = self.client.get(console_url("export_logs", self.tenant_id), {"q": "failed", **self.window})

        lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
        assert [line["log_id"] for line in lines] == [f"log-{n:02d}" for n in range(0, 25, 4)]
        assert {line["tenant_id"] for line in lines} == {self.tenant_id}

    def test_erasing_a_range_keeps_counts_and_other_tenants_right(self):
        def moment(minutes_ago):
            return (BASE_TIME - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S")

        response = self.client.post(
            console_url("erase_logs", self.tenant_id),
            {"received_after": moment(9), "received_before": moment(4)},
        )

        assert response.status_code == 302
        assert get_store().counts(self.tenant_id) == {**dict.fromkeys(STATUSES, 0), STATUS_PROCESSED: 20}
        assert len(list(get_store().iter_logs(self.tenant_id))) == 20
        assert get_store().counts(self.other_id)[STATUS_PROCESSED] == 1
