"""Replaying from the console: one log, a selection, all of a tenant's dead letters."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from console import replay as replay_module
from console.tests.console_support import (
    ConsoleTest,
    add_dead_letter,
    add_processed,
    add_retrying,
    console_url,
)
from tenants.models import Tenant
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, get_store


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def status_of(tenant_id: str, log_id: str) -> str:
    return get_store().get(tenant_id, log_id).status


class TestReplayOne(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        self.dead = add_dead_letter("acme", "dead-1", attempts=5)
        add_retrying("acme", "flaky-1")
        add_processed("acme", "done-1")
        self.client.force_login(self.users.acme_staff)

    def replay(self, *tokens: str, next_url: str = ""):
        return self.client.post(
            console_url("replay"), {"selected": list(tokens), "next": next_url}, follow=True
        )

    def test_replaying_a_dead_letter_puts_it_back_on_the_queue_and_resets_it(self):
        detail = console_url("log_detail", "acme", "dead-1")

        response = self.replay("acme/dead-1", next_url=detail)

        assert response.redirect_chain == [(detail, 302)]
        assert self.queue.replayed == [self.dead]
        record = get_store().get("acme", "dead-1")
        assert (record.status, record.attempts) == (STATUS_RETRYING, 0)
        assert response.context["record"].status == STATUS_RETRYING  # the page shows the new status
        assert messages_of(response) == ["Replayed log acme/dead-1: it is back on the queue."]

    def test_each_replay_is_recorded_in_the_admin_history_of_the_tenant(self):
        self.replay("acme/dead-1")

        entry = LogEntry.objects.get()
        assert entry.user == self.users.acme_staff
        assert entry.content_type == ContentType.objects.get_for_model(Tenant)
        assert entry.object_id == "acme"
        assert entry.action_flag == CHANGE
        assert "dead-1" in entry.get_change_message()
        assert entry.action_time is not None

    def test_the_tenants_history_page_lists_the_replay(self):
        self.replay("acme/dead-1")
        self.client.force_login(self.users.superuser)

        response = self.client.get("/admin/tenants/tenant/acme/history/")

        assert b"Replayed log dead-1" in response.content

    def test_a_retrying_log_can_be_replayed_too(self):
        self.replay("acme/flaky-1")

        assert [envelope.log_id for envelope in self.queue.replayed] == ["flaky-1"]

    def test_a_processed_log_is_not_replayed(self):
        response = self.replay("acme/done-1")

        assert self.queue.replayed == []
        assert status_of("acme", "done-1") == STATUS_PROCESSED
        assert messages_of(response) == ["Not replayed, already processed: acme/done-1."]
        assert not LogEntry.objects.exists()

    def test_an_unknown_log_is_reported_not_replayed(self):
        response = self.replay("acme/ghost")

        assert self.queue.replayed == []
        assert messages_of(response) == ["Not replayed, no such log: acme/ghost."]

    def test_a_malformed_selection_is_refused(self):
        response = self.replay("acme-dead-1")

        assert self.queue.replayed == []
        assert any("does not name a log" in message for message in messages_of(response))

    def test_an_empty_selection_asks_to_select_something(self):
        response = self.client.post(console_url("replay"), {}, follow=True)

        assert messages_of(response) == ["Select at least one log to replay."]

    def test_next_never_leaves_the_site(self):
        response = self.client.post(
            console_url("replay"), {"selected": "acme/dead-1", "next": "https://evil.example/"}
        )

        assert response.url == console_url("dead_letters")

    def test_a_queue_outage_stops_the_replay_and_says_so(self):
        self.queue.fail_after = 0

        response = self.replay("acme/dead-1")

        assert self.queue.replayed == []
        # Marked first, so the log shows as retrying and can be replayed again later.
        assert status_of("acme", "dead-1") == STATUS_RETRYING
        assert any("Replay stopped" in message for message in messages_of(response))
        assert not LogEntry.objects.exists()


class TestReplaySelected(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        for number in range(3):
            add_dead_letter("acme", f"dead-{number}", minutes_ago=number)
        add_dead_letter("globex", "globex-dead")
        self.client.force_login(self.users.superuser)

    def test_replaying_a_selection_replays_each_selected_log_once(self):
        response = self.client.post(
            console_url("replay"),
            {"selected": ["acme/dead-0", "acme/dead-2", "acme/dead-0", "globex/globex-dead"]},
            follow=True,
        )

        assert [envelope.log_id for envelope in self.queue.replayed] == ["dead-0", "dead-2", "globex-dead"]
        assert status_of("acme", "dead-1") == STATUS_DEAD_LETTERED
        assert LogEntry.objects.count() == 3
        assert messages_of(response)[0].startswith("Replayed 3 logs")

    def test_the_dead_letters_page_posts_a_selection_across_tenants(self):
        page = self.client.get(console_url("dead_letters"))

        assert b'name="selected" value="acme/dead-0"' in page.content
        assert b'name="selected" value="globex/globex-dead"' in page.content
        assert console_url("replay").encode() in page.content


class TestReplayAll(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        for number in range(7):
            add_dead_letter("acme", f"dead-{number}", minutes_ago=number)
        add_retrying("acme", "flaky-1")
        add_dead_letter("globex", "globex-dead")
        self.client.force_login(self.users.acme_staff)

    def test_get_asks_for_confirmation_and_replays_nothing(self):
        response = self.client.get(console_url("replay_all", "acme"))

        assert response.status_code == 200
        assert response.context["count"] == 7
        assert b"<strong>7</strong> dead-lettered logs" in response.content
        assert b'method="post"' in response.content
        assert self.queue.replayed == []

    def test_confirming_replays_every_dead_letter_of_the_tenant_only(self):
        response = self.client.post(console_url("replay_all", "acme"), follow=True)

        assert sorted(envelope.log_id for envelope in self.queue.replayed) == [f"dead-{n}" for n in range(7)]
        assert get_store().counts("acme")[STATUS_DEAD_LETTERED] == 0
        assert status_of("globex", "globex-dead") == STATUS_DEAD_LETTERED
        assert LogEntry.objects.filter(object_id="acme").count() == 7
        assert response.redirect_chain[-1][0] == console_url("tenant_logs", "acme") + "?status=dead_lettered"
        assert messages_of(response)[0].startswith("Replayed 7 logs")

    def test_a_large_backlog_is_replayed_in_bounded_rounds(self, monkeypatch):
        monkeypatch.setattr(replay_module, "REPLAY_ALL_LIMIT", 3)

        first = self.client.post(console_url("replay_all", "acme"), follow=True)

        assert len(self.queue.replayed) == 3
        assert get_store().counts("acme")[STATUS_DEAD_LETTERED] == 4
        assert any("more dead letters remain" in message for message in messages_of(first))

        for _ in range(2):
            self.client.post(console_url("replay_all", "acme"))

        assert len(self.queue.replayed) == 7
        assert get_store().counts("acme")[STATUS_DEAD_LETTERED] == 0

    def test_with_nothing_to_replay_it_says_so(self):
        self.client.post(console_url("replay_all", "acme"), follow=True)

        response = self.client.post(console_url("replay_all", "acme"), follow=True)

        assert messages_of(response) == ["Acme Corp has no dead letters to replay."]
