"""The tenant log browser (cursor pages, filters, search) and the log detail page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from console import pagination
from console.tests.console_support import (
    ConsoleTest,
    add_dead_letter,
    add_processed,
    add_retrying,
    console_url,
)
from console.views.logs import PAGE_SIZE
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING


def log_ids(response) -> list[str]:
    return [record.log_id for record, _, _ in response.context["records"]]


class TestLogBrowserPages(ConsoleTest):
    @pytest.fixture(autouse=True)
    def many_logs(self, console_setup):
        # 120 logs, one a minute; log-119 is the newest.
        for number in range(120):
            add_processed("acme", f"log-{number:03d}", minutes_ago=120 - number)
        self.client.force_login(self.users.acme_staff)

    def test_the_first_page_shows_the_newest_logs_first(self):
        response = self.client.get(console_url("tenant_logs", "acme"))

        assert response.status_code == 200
        assert log_ids(response) == [f"log-{number:03d}" for number in range(119, 119 - PAGE_SIZE, -1)]
        assert response.context["pages"].newest is None
        assert response.context["pages"].newer is None

    def test_older_links_walk_every_log_once_without_offsets(self):
        seen = []
        url = console_url("tenant_logs", "acme")
        query = ""
        for _ in range(10):
            response = self.client.get(url + query)
            seen += log_ids(response)
            query = response.context["pages"].older
            if query is None:
                break
            assert "offset" not in query and "page=" not in query

        assert seen == [f"log-{number:03d}" for number in range(119, -1, -1)]

    def test_newer_goes_back_to_the_previous_page(self):
        url = console_url("tenant_logs", "acme")
        first = self.client.get(url)
        second = self.client.get(url + first.context["pages"].older)
        third = self.client.get(url + second.context["pages"].older)

        back_to_second = self.client.get(url + third.context["pages"].newer)
        back_to_first = self.client.get(url + back_to_second.context["pages"].newer)

        assert log_ids(back_to_second) == log_ids(second)
        assert log_ids(back_to_first) == log_ids(first)
        assert back_to_first.context["pages"].newer is None

    def test_paging_keeps_the_filters(self):
        url = console_url("tenant_logs", "acme")
        response = self.client.get(url + "?status=processed")

        older = parse_qs(urlsplit(response.context["pages"].older).query)

        assert older["status"] == ["processed"]
        assert "cursor" in older

    def test_a_forged_cursor_returns_to_the_newest_page_with_a_message(self):
        url = console_url("tenant_logs", "acme")

        response = self.client.get(url + "?status=processed&cursor=not-a-cursor", follow=True)

        assert response.redirect_chain[-1][0] == url + "?status=processed"
        assert log_ids(response)[0] == "log-119"
        assert any("no longer valid" in str(message) for message in response.context["messages"])

    def test_the_trail_of_previous_pages_is_bounded(self):
        url = console_url("tenant_logs", "acme")
        trail = "".join(f"&back={pagination.FIRST_PAGE}" for _ in range(100))
        response = self.client.get(url)
        cursor = parse_qs(urlsplit(response.context["pages"].older).query)["cursor"][0]

        deep = self.client.get(f"{url}?cursor={cursor}{trail}")
        older = parse_qs(urlsplit(deep.context["pages"].older).query)

        assert len(older["back"]) == pagination.MAX_TRAIL


class TestLogBrowserFilters(ConsoleTest):
    @pytest.fixture(autouse=True)
    def mixed_logs(self, console_setup):
        add_processed("acme", "done-1", minutes_ago=50)
        add_processed("acme", "done-2", minutes_ago=40)
        add_retrying("acme", "flaky-1", minutes_ago=30, error="ConnectionError: upstream timed out")
        add_dead_letter("acme", "dead-1", minutes_ago=20)
        add_dead_letter("acme", "dead-2", minutes_ago=10)
        add_processed("globex", "globex-1", minutes_ago=5)
        self.client.force_login(self.users.acme_staff)

    def get(self, query: str = ""):
        return self.client.get(console_url("tenant_logs", "acme") + query)

    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (STATUS_PROCESSED, ["done-2", "done-1"]),
            (STATUS_RETRYING, ["flaky-1"]),
            (STATUS_DEAD_LETTERED, ["dead-2", "dead-1"]),
            ("", ["dead-2", "dead-1", "flaky-1", "done-2", "done-1"]),
        ],
    )
    def test_the_status_filter_shows_only_that_status(self, status, expected):
        assert log_ids(self.get(f"?status={status}")) == expected

    def test_the_status_links_show_the_counts(self):
        links = {link["status"]: link["count"] for link in self.get().context["status_links"]}

        assert links == {"": 5, STATUS_PROCESSED: 2, STATUS_RETRYING: 1, STATUS_DEAD_LETTERED: 2}

    def test_search_by_log_id_finds_exactly_that_log(self):
        assert log_ids(self.get("?log_id=flaky-1")) == ["flaky-1"]

    def test_search_by_log_id_respects_the_status_filter(self):
        assert log_ids(self.get("?log_id=flaky-1&status=processed")) == []

    def test_search_by_log_id_never_finds_another_tenants_log(self):
        response = self.get("?log_id=globex-1")

        assert log_ids(response) == []
        assert b"No logs match" in response.content

    def test_an_invalid_log_id_is_a_form_error_not_a_store_query(self):
        response = self.get("?log_id=../globex")

        assert response.status_code == 200
        assert log_ids(response) == []
        assert "log_id" in response.context["form"].errors

    def test_the_time_range_is_from_inclusive_to_exclusive(self):
        # BASE_TIME is 12:00 UTC; dead-1 came at 11:40, flaky-1 at 11:30, done-2 at 11:20.
        response = self.get("?received_after=2026-03-01T11:20&received_before=2026-03-01T11:40")

        assert log_ids(response) == ["flaky-1", "done-2"]

    def test_a_reversed_time_range_is_refused(self):
        response = self.get("?received_after=2026-03-01T12:00&received_before=2026-03-01T11:00")

        assert log_ids(response) == []
        assert response.context["form"].non_field_errors()

    def test_an_unknown_status_is_a_form_error(self):
        response = self.get("?status=deleted")

        assert "status" in response.context["form"].errors

    def test_dead_letters_offer_replay_all_and_checkboxes(self):
        response = self.get("?status=dead_lettered")

        assert response.context["show_replay_all"]
        assert console_url("replay_all", "acme").encode() in response.content
        assert b'name="selected" value="acme/dead-2"' in response.content

    def test_processed_logs_have_no_replay_checkbox(self):
        response = self.get("?status=processed")

        assert b'name="selected"' not in response.content
        assert not response.context["show_replay_all"]

    def test_the_columns_are_the_ones_staff_need(self):
        content = self.get().content.decode()

        for column in ("Log id", "Source", "Status", "Attempts", "Received (UTC)", "Processed (UTC)"):
            assert f">{column}</th>" in content


class TestLogDetail(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        add_retrying("acme", "flaky-1", error="ConnectionError: upstream timed out")
        add_dead_letter("acme", "dead-1", attempts=5)
        add_processed("acme", "done-1")
        self.client.force_login(self.users.acme_staff)

    def test_a_retrying_log_shows_its_last_error_attempts_and_ids(self):
        response = self.client.get(console_url("log_detail", "acme", "flaky-1"))
        content = response.content.decode()

        assert response.status_code == 200
        assert "ConnectionError: upstream timed out" in content
        assert ">1</td>" in content  # attempts
        assert "msg-flaky-1" in content
        assert "req-flaky-1" in content  # the request id, to follow the log through the logs
        assert "Not processed yet" in content

    def test_a_dead_letter_and_a_retrying_log_offer_replay(self):
        for log_id in ("dead-1", "flaky-1"):
            response = self.client.get(console_url("log_detail", "acme", log_id))

            assert response.context["replayable"]
            assert f'name="selected" value="acme/{log_id}"'.encode() in response.content
            assert b'name="csrfmiddlewaretoken"' in response.content

    def test_a_processed_log_offers_no_replay(self):
        response = self.client.get(console_url("log_detail", "acme", "done-1"))

        assert not response.context["replayable"]
        assert b"Replay this log" not in response.content
        assert b"User [REDACTED] did thing done-1" in response.content

    def test_an_unknown_log_is_not_found(self):
        assert self.client.get(console_url("log_detail", "acme", "nope")).status_code == 404

    def test_a_malformed_log_id_is_not_found(self):
        assert self.client.get(console_url("log_detail", "acme", "__name__")).status_code == 404
