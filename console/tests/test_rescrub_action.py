"""Re-scrub from the console: the confirmation page, who may, what it writes, and going on when it stops."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client

from console.tests.console_support import ConsoleTest, console_url
from console.views import rescrub as rescrub_view
from core.envelope import SOURCE_JSON, LogEnvelope
from core.records import Retention
from tenants.redaction_policies import save_redaction_policy
from tenants.stores import get_store


def add_log(tenant_id: str, log_id: str, *, minutes_ago: float = 5, keep_original: bool = True) -> None:
    """A log processed under the default policy, received ``minutes_ago`` minutes ago."""
    received = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    envelope = LogEnvelope(tenant_id, log_id, SOURCE_JSON, f"{log_id} called 555-0199", received.isoformat())
    get_store().save_result(
        envelope,
        modified_data=f"{log_id} called [REDACTED]",
        message_id=f"m-{log_id}",
        processed_at=received,
        findings={"phone": 1},
        retention=Retention(keep_original=keep_original),
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


class RescrubTest(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        add_log("acme", "recent-1", minutes_ago=5)
        add_log("acme", "recent-2", minutes_ago=30)
        add_log("acme", "yesterday", minutes_ago=60 * 20)
        add_log("globex", "theirs", minutes_ago=5)
        save_redaction_policy(self.acme, {"detectors": {"phone": {"replacement": "typed"}}}, created_by="x")
        save_redaction_policy(self.globex, {"detectors": {"phone": {"replacement": "typed"}}}, created_by="x")


class TestWhoMayRescrub(RescrubTest):
    def test_anonymous_users_are_sent_to_the_login(self):
        response = self.client.post(console_url("rescrub", "acme"), {"window": "all"})

        assert response.status_code == 302
        assert "/admin/login/" in response.url
        assert get_store().get("acme", "recent-1").policy_version == 0

    def test_staff_of_the_tenant_may_as_for_replay_without_the_policy_permission(self):
        self.client.force_login(self.users.acme_staff)

        page = self.client.get(console_url("rescrub", "acme"))

        assert page.status_code == 200
        assert b"version 1" in page.content
        assert b'name="window"' in page.content

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_another_tenants_rescrub_is_not_found(self, method):
        self.client.force_login(self.users.acme_staff)

        response = getattr(self.client, method)(console_url("rescrub", "globex"), {"window": "all"})

        assert response.status_code == 404
        assert get_store().get("globex", "theirs").policy_version == 0

    def test_a_rescrub_without_the_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.users.acme_staff)

        response = client.post(console_url("rescrub", "acme"), {"window": "all"})

        assert response.status_code == 403
        assert get_store().get("acme", "recent-1").policy_version == 0

    def test_get_changes_nothing(self):
        self.client.force_login(self.users.superuser)

        self.client.get(console_url("rescrub", "acme") + "?window=all")

        assert get_store().get("acme", "recent-1").policy_version == 0
        assert not LogEntry.objects.exists()


class TestRescrubbing(RescrubTest):
    @pytest.fixture(autouse=True)
    def login(self, logs):
        self.client.force_login(self.users.acme_staff)

    def test_the_last_hours_logs_get_the_new_text_findings_and_version(self):
        response = self.client.post(console_url("rescrub", "acme"), {"window": "1h"}, follow=True)

        assert response.redirect_chain == [(console_url("tenant_logs", "acme"), 302)]
        for log_id in ("recent-1", "recent-2"):
            record = get_store().get("acme", log_id)
            assert (record.modified_data, record.findings, record.policy_version) == (
                f"{log_id} called [PHONE]",
                {"phone": 1},
                1,
            )
        assert get_store().get("acme", "yesterday").policy_version == 0
        assert get_store().get("globex", "theirs").policy_version == 0
        assert messages_of(response)[0].startswith("Re-scrub of Acme Corp, logs received since ")
        assert "2 examined: 2 re-scrubbed with policy version 1" in messages_of(response)[0]

    def test_it_is_recorded_in_the_tenants_history(self):
        self.client.post(console_url("rescrub", "acme"), {"window": "all"})

        entry = LogEntry.objects.get()
        assert (entry.user, entry.object_id, entry.action_flag) == (self.users.acme_staff, "acme", CHANGE)
        assert entry.change_message.startswith(
            "Re-scrubbed logs received at any time with redaction policy version 1: 3 examined: 3 re-scrubbed"
        )

    def test_doing_it_again_changes_nothing(self):
        self.client.post(console_url("rescrub", "acme"), {"window": "all"})
        before = get_store().list_logs("acme").records

        response = self.client.post(console_url("rescrub", "acme"), {"window": "all"}, follow=True)

        assert get_store().list_logs("acme").records == before
        assert "3 examined: 0 re-scrubbed with policy version 1, 3 already at it" in messages_of(response)[-1]

    def test_a_range_of_received_times_in_utc(self):
        now = datetime.now(UTC)
        self.client.post(
            console_url("rescrub", "acme"),
            {
                "window": "range",
                "received_after": (now - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S"),
                "received_before": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            },
        )

        assert get_store().get("acme", "yesterday").policy_version == 1
        assert get_store().get("acme", "recent-1").policy_version == 0

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"window": "range"}, "Give at least one"),
            (
                {
                    "window": "range",
                    "received_after": "2026-12-02T00:00",
                    "received_before": "2026-12-01T00:00",
                },
                "must be earlier",
            ),
            ({"window": "forever"}, "Select a valid choice"),
        ],
    )
    def test_a_bad_range_rescrubs_nothing(self, fields, message):
        response = self.client.post(console_url("rescrub", "acme"), fields)

        assert response.status_code == 200
        assert message in response.content.decode()
        assert get_store().get("acme", "recent-1").policy_version == 0

    def test_logs_without_original_text_are_skipped_and_the_page_says_so(self):
        add_log("acme", "never-kept", minutes_ago=1, keep_original=False)

        response = self.client.post(console_url("rescrub", "acme"), {"window": "1h"}, follow=True)

        assert get_store().get("acme", "never-kept").modified_data == "never-kept called [REDACTED]"
        assert any("1 log(s) kept their earlier redaction" in message for message in messages_of(response))

    def test_a_big_rescrub_stops_and_goes_on_from_where_it_stopped(self, monkeypatch):
        monkeypatch.setattr(rescrub_view, "RESCRUB_REQUEST_LIMIT", 2)
        monkeypatch.setattr(rescrub_view, "PAGE_SIZE", 2)
        for index in range(3):
            add_log("acme", f"more-{index}", minutes_ago=1 + index)

        rounds = 0
        response = self.client.post(console_url("rescrub", "acme"), {"window": "1h"})
        while response.status_code == 200:
            rounds += 1
            assert b"Not finished" in response.content
            fields = dict(
                re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', response.content.decode())
            )
            fields["window"] = re.search(
                r'name="window" value="(\w+)"[^>]* checked', response.content.decode()
            )[1]
            for name in ("received_after", "received_before"):
                value = re.search(rf'name="{name}"(?: value="([^"]*)")?', response.content.decode())
                fields[name] = value[1] or "" if value else ""
            response = self.client.post(console_url("rescrub", "acme"), fields)
            assert rounds < 10

        assert response.status_code == 302
        assert rounds == 2
        versions = {record.log_id: record.policy_version for record in get_store().list_logs("acme").records}
        assert versions == {
            "recent-1": 1,
            "recent-2": 1,
            "more-0": 1,
            "more-1": 1,
            "more-2": 1,
            "yesterday": 0,
        }
        assert LogEntry.objects.count() == 3

    def test_a_forged_continuation_is_refused(self):
        response = self.client.post(
            console_url("rescrub", "acme"), {"window": "all", "from_cursor": "forged!"}
        )

        assert response.status_code == 200
        assert "no longer valid" in response.content.decode()

    def test_the_tenant_page_links_to_it(self):
        response = self.client.get(console_url("tenant_logs", "acme"))

        assert console_url("rescrub", "acme").encode() in response.content
