"""The console's part of the data lifecycle: preview, text search, download, erasure, expiry, replay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from console.tests.console_support import (
    BASE_TIME,
    ConsoleTest,
    add_dead_letter,
    add_processed,
    add_retrying,
    console_url,
    envelope,
)
from console.views import lifecycle
from console.views.logs import PAGE_SIZE
from core.records import Retention
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUSES, get_store


def log_ids(response) -> list[str]:
    return [record.log_id for record, _, _ in response.context["records"]]


def downloaded(response) -> list[dict]:
    return [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]


def history(tenant_id: str) -> list[str]:
    return list(
        LogEntry.objects.filter(object_id=tenant_id).order_by("id").values_list("change_message", flat=True)
    )


class TestPreviewAndSearch(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        add_processed("acme", "disk", minutes_ago=5, text="Disk FULL on web-1\nsecond line for 555-0199")
        add_processed("acme", "cpu", minutes_ago=4, text="CPU fine on web-2")
        add_retrying("acme", "pending", minutes_ago=3)
        add_processed("globex", "disk", minutes_ago=2, text="disk full at globex")
        self.client.force_login(self.users.acme_staff)

    def test_each_row_previews_the_redacted_text_on_one_line(self):
        page = self.client.get(console_url("tenant_logs", "acme")).content.decode()

        assert "Disk FULL on web-1 second line for [REDACTED]" in page
        assert "555-0199" not in page
        assert "not processed yet" in page

    def test_a_word_finds_the_logs_whose_redacted_text_holds_it_in_any_case(self):
        response = self.client.get(console_url("tenant_logs", "acme"), {"q": "disk full"})

        assert log_ids(response) == ["disk"]
        assert response.context["search_bound"] is None  # the database store searches everything

    def test_the_search_never_looks_at_the_original_text_or_other_tenants(self):
        assert log_ids(self.client.get(console_url("tenant_logs", "acme"), {"q": "555-0199"})) == []
        assert log_ids(self.client.get(console_url("tenant_logs", "acme"), {"q": "globex"})) == []

    def test_the_search_combines_with_status_range_and_log_id(self):
        url = console_url("tenant_logs", "acme")
        after = (BASE_TIME - timedelta(minutes=4, seconds=30)).strftime("%Y-%m-%dT%H:%M:%S")

        assert log_ids(self.client.get(url, {"q": "on web", "status": STATUS_PROCESSED})) == ["cpu", "disk"]
        assert log_ids(self.client.get(url, {"q": "on web", "received_after": after})) == ["cpu"]
        assert log_ids(self.client.get(url, {"q": "web-1", "log_id": "disk"})) == ["disk"]
        assert log_ids(self.client.get(url, {"q": "web-2", "log_id": "disk"})) == []

    def test_search_results_page_by_cursor(self):
        for number in range(PAGE_SIZE + 7):
            add_processed("acme", f"match-{number:03d}", minutes_ago=100 + number, text=f"needle {number}")
        url = console_url("tenant_logs", "acme")

        first = self.client.get(url, {"q": "NEEDLE"})
        second = self.client.get(url + first.context["pages"].older)

        assert len(log_ids(first)) == PAGE_SIZE
        assert log_ids(first) + log_ids(second) == [f"match-{n:03d}" for n in range(PAGE_SIZE + 7)]
        assert second.context["pages"].older is None
        assert "q=NEEDLE" in first.context["pages"].older


class TestDownload(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        for number in range(5):
            add_processed(
                "acme", f"log-{number}", minutes_ago=10 - number, text=f"order {number} by 555-0199"
            )
        add_dead_letter("acme", "dead", minutes_ago=1)
        add_processed("globex", "theirs")

    def test_it_downloads_the_filtered_list_as_ndjson_with_the_read_apis_fields(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("export_logs", "acme"), {"status": STATUS_PROCESSED})

        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-ndjson"
        assert response["Content-Disposition"].startswith('attachment; filename="acme-logs-')
        lines = downloaded(response)
        assert [line["log_id"] for line in lines] == ["log-4", "log-3", "log-2", "log-1", "log-0"]
        assert lines[0]["modified_data"] == "order 4 by [REDACTED]"
        assert "original_text" not in lines[0]
        assert lines[0]["received_at"].endswith("Z")

    def test_a_text_search_downloads_every_match(self):
        self.client.force_login(self.users.acme_staff)

        lines = downloaded(self.client.get(console_url("export_logs", "acme"), {"q": "ORDER 3"}))

        assert [line["log_id"] for line in lines] == ["log-3"]

    def test_the_original_text_only_with_the_permission_and_when_asked(self):
        self.client.force_login(self.users.acme_reader)
        with_original = downloaded(self.client.get(console_url("export_logs", "acme"), {"original": "1"}))
        without = downloaded(self.client.get(console_url("export_logs", "acme")))
        self.client.force_login(self.users.acme_staff)
        refused = self.client.get(console_url("export_logs", "acme"), {"original": "1"})

        assert with_original[1]["original_text"] == "order 4 by 555-0199"
        assert all("original_text" not in line for line in without)
        assert refused.status_code == 403

    def test_another_tenants_logs_cannot_be_downloaded(self):
        self.client.force_login(self.users.acme_staff)

        assert self.client.get(console_url("export_logs", "globex")).status_code == 404

    def test_each_download_is_in_the_tenants_history(self):
        self.client.force_login(self.users.acme_reader)

        b"".join(self.client.get(console_url("export_logs", "acme"), {"q": "order", "original": "1"}))

        assert history("acme") == ["Downloaded logs as NDJSON (with the original text; filters: q=order)."]


class TestErase(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        for minute in range(10):
            add_processed("acme", f"log-{minute}", minutes_ago=minute)
            add_processed("globex", f"log-{minute}", minutes_ago=minute)
        add_dead_letter("acme", "dead", minutes_ago=30)

    def grant_erase(self, user) -> None:
        user.user_permissions.add(Permission.objects.get(codename="delete_storedlog"))

    def range_form(self, newest_minutes_ago: float, oldest_minutes_ago: float) -> dict:
        def moment(minutes_ago):
            return (BASE_TIME - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S")

        return {"received_after": moment(oldest_minutes_ago), "received_before": moment(newest_minutes_ago)}

    def test_it_asks_first_with_the_range_of_the_log_list(self):
        self.client.force_login(self.users.superuser)
        query = self.range_form(2, 5)

        page = self.client.get(console_url("erase_logs", "acme"), query)

        assert page.status_code == 200
        assert page.context["form"].initial["received_after"].isoformat().startswith("2026-03-01T11:55")
        assert "Yes, erase these logs" in page.content.decode()
        assert get_store().counts("acme")[STATUS_PROCESSED] == 10

    def test_a_received_range_is_erased_and_recorded_with_who_what_and_how_many(self):
        self.client.force_login(self.users.superuser)

        response = self.client.post(console_url("erase_logs", "acme"), self.range_form(2, 5))

        assert response.status_code == 302
        left = {record.log_id for record in get_store().list_logs("acme", limit=100).records}
        assert left == {"log-0", "log-1", "log-2", "dead", "log-6", "log-7", "log-8", "log-9"}
        assert len(get_store().list_logs("globex", limit=100).records) == 10
        assert get_store().counts("acme") == {
            **dict.fromkeys(STATUSES, 0),
            STATUS_PROCESSED: 7,
            STATUS_DEAD_LETTERED: 1,
        }
        entry = LogEntry.objects.get(object_id="acme")
        assert entry.user == self.users.superuser
        assert entry.change_message == (
            "Erased 3 log(s) received from 2026-03-01 11:55:00 UTC to before 2026-03-01 11:58:00 UTC (console)."
        )

    def test_everything_needs_the_box_ticked(self):
        self.client.force_login(self.users.superuser)

        refused = self.client.post(console_url("erase_logs", "acme"), {})
        erased = self.client.post(console_url("erase_logs", "acme"), {"everything": "on"})

        assert refused.status_code == 400
        assert "Every log of this tenant" in refused.content.decode()
        assert erased.status_code == 302
        assert get_store().counts("acme") == dict.fromkeys(STATUSES, 0)
        assert history("acme") == ["Erased 11 log(s) all of them, whenever received (console)."]

    def test_a_large_erasure_goes_on_over_several_confirmations(self, monkeypatch):
        monkeypatch.setattr(lifecycle, "ERASE_PER_REQUEST", 4)
        self.client.force_login(self.users.superuser)

        first = self.client.post(console_url("erase_logs", "acme"), {"everything": "on"}, follow=True)
        rounds = 1
        while get_store().counts("acme") != dict.fromkeys(STATUSES, 0) and rounds < 5:
            self.client.post(console_url("erase_logs", "acme"), {"everything": "on"})
            rounds += 1

        assert "more remain: confirm again to go on" in first.content.decode()
        assert rounds == 3
        assert len(history("acme")) == 3
        assert history("acme")[0].endswith("More remain: run it again to go on.")

    def test_staff_without_the_delete_permission_are_refused(self):
        self.client.force_login(self.users.acme_staff)

        assert self.client.get(console_url("erase_logs", "acme")).status_code == 403
        assert self.client.post(console_url("erase_logs", "acme"), {"everything": "on"}).status_code == 403
        assert get_store().counts("acme")[STATUS_PROCESSED] == 10
        assert "Erase logs" not in self.client.get(console_url("tenant_logs", "acme")).content.decode()

    def test_assigned_staff_with_the_permission_erase_only_their_tenants(self):
        self.grant_erase(self.users.acme_staff)
        self.client.force_login(self.users.acme_staff)

        assert self.client.post(console_url("erase_logs", "globex"), {"everything": "on"}).status_code == 404
        assert self.client.post(console_url("erase_logs", "acme"), {"everything": "on"}).status_code == 302
        assert get_store().counts("globex")[STATUS_PROCESSED] == 10
        assert get_store().counts("acme") == dict.fromkeys(STATUSES, 0)
        assert "Erase logs" in self.client.get(console_url("tenant_logs", "acme")).content.decode()


class TestExpiryAndReplay(ConsoleTest):
    def store_with_retention(self, log_id: str, retention: Retention, *, fail: bool = False) -> None:
        log = envelope("acme", log_id)
        if fail:
            for attempt in range(3):
                get_store().record_failure(
                    log, error=f"failure {attempt}", message_id="m", retention=retention
                )
            get_store().mark_dead_lettered("acme", log_id)
        else:
            get_store().save_result(
                log,
                modified_data="User [REDACTED]",
                message_id="m",
                processed_at=BASE_TIME,
                retention=retention,
            )

    def test_the_detail_page_says_when_the_original_text_and_the_record_expire(self):
        self.store_with_retention(
            "kept",
            Retention(
                expires_at=BASE_TIME + timedelta(days=30),
                original_text_expires_at=BASE_TIME + timedelta(days=7),
            ),
        )
        self.client.force_login(self.users.acme_reader)

        page = self.client.get(console_url("log_detail", "acme", "kept")).content.decode()

        assert "Original text kept until (UTC)" in page
        assert "2026-03-08 12:00:00" in page
        assert "2026-03-31 12:00:00" in page

    def test_a_log_whose_original_text_is_gone_says_so(self):
        self.store_with_retention("gone", Retention(expires_at=None, keep_original=False))
        self.client.force_login(self.users.acme_reader)

        page = self.client.get(console_url("log_detail", "acme", "gone")).content.decode()

        assert "not kept (never stored, or expired)" in page
        assert 'id="original-text-gone"' in page
        assert "no limit" in page

    def test_a_dead_letter_without_original_text_is_refused_with_the_reason(self):
        self.store_with_retention("no-text", Retention(keep_original=False), fail=True)
        add_dead_letter("acme", "with-text")
        self.client.force_login(self.users.acme_staff)

        detail = self.client.get(console_url("log_detail", "acme", "no-text")).content.decode()
        response = self.client.post(
            console_url("replay"), {"selected": ["acme/no-text", "acme/with-text"]}, follow=True
        )

        assert "This log cannot be replayed: its original text is not kept" in detail
        assert "Replay this log" not in detail
        assert (
            "the original text is not kept (never stored, or expired): acme/no-text"
            in response.content.decode()
        )
        assert [log.log_id for log in self.queue.replayed] == ["with-text"]
        assert get_store().get("acme", "no-text").status == STATUS_DEAD_LETTERED

    def test_replay_all_leaves_dead_letters_without_original_text_and_says_so(self):
        self.store_with_retention("no-text", Retention(keep_original=False), fail=True)
        add_dead_letter("acme", "with-text", minutes_ago=1)
        self.client.force_login(self.users.acme_staff)

        response = self.client.post(console_url("replay_all", "acme"), follow=True)

        assert [log.log_id for log in self.queue.replayed] == ["with-text"]
        assert "acme/no-text" in response.content.decode()


class TestDownloadWithTheStoreDown(ConsoleTest):
    def test_a_store_outage_is_the_consoles_503_page_not_a_cut_file(self, settings):
        self.client.force_login(self.users.acme_staff)
        settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

        response = self.client.get(console_url("export_logs", "acme"))

        assert response.status_code == 503
        assert not response.streaming
