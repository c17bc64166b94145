"""The overview page and its server-side activity chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from console.chart import build_activity_chart, nice_step
from console.tests.console_support import (
    ConsoleTest,
    add_dead_letter,
    add_processed,
    add_retrying,
    console_url,
)
from console.views.overview import format_age
from core.envelope import SOURCE_JSON, LogEnvelope
from tenants.models import Tenant
from tenants.stores import ActivityBucket, get_store


def process_now(
    tenant_id: str, log_id: str, *, received_minutes_ago: int, processed_minutes_ago: int
) -> None:
    now = timezone.now()
    get_store().save_result(
        LogEnvelope(
            tenant_id=tenant_id,
            log_id=log_id,
            source=SOURCE_JSON,
            text="hello",
            received_at=(now - timedelta(minutes=received_minutes_ago)).isoformat(),
        ),
        modified_data="hello",
        message_id=f"msg-{log_id}",
        processed_at=now - timedelta(minutes=processed_minutes_ago),
    )


class TestOverview(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        add_processed("acme", "done-1")
        add_processed("acme", "done-2")
        add_retrying("acme", "flaky-1")
        add_dead_letter("acme", "dead-1")
        add_processed("globex", "globex-1")
        self.client.force_login(self.users.superuser)

    def test_each_tenant_shows_its_counts_per_status_and_last_activity(self):
        response = self.client.get(console_url("overview"))

        rows = {row.tenant_id: row for row in response.context["rows"]}
        assert rows["acme"].counts == {"processed": 2, "retrying": 1, "dead_lettered": 1}
        assert rows["acme"].total == 4
        assert rows["acme"].last_activity is not None
        assert rows["globex"].counts == {"processed": 1, "retrying": 0, "dead_lettered": 0}
        assert b"Acme Corp" in response.content

    def test_a_tenant_without_logs_is_listed_with_zeros(self):
        Tenant.objects.create(id="initech", name="Initech")

        response = self.client.get(console_url("overview"))

        rows = {row.tenant_id: row for row in response.context["rows"]}
        assert rows["initech"].counts == {"processed": 0, "retrying": 0, "dead_lettered": 0}
        assert rows["initech"].last_activity is None

    def test_it_shows_the_queue_depth_and_the_oldest_message_age(self):
        response = self.client.get(console_url("overview"))

        assert response.context["queue_stats"].depth == 0
        assert response.context["queue_age"] == "1 min 15 s"
        assert b"Queue (every tenant)" in response.content
        assert b"oldest waiting for" in response.content

    def test_staff_of_some_tenants_do_not_see_queue_figures_spanning_every_tenant(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("overview"))

        assert response.context["queue_stats"] is None
        assert b"Queue (every tenant)" not in response.content

    def test_a_queue_that_cannot_report_still_leaves_the_page_up(self, settings):
        settings.QUEUE_BACKEND = "console.tests.console_support.NoSuchQueue"

        response = self.client.get(console_url("overview"))

        assert response.status_code == 200
        assert response.context["queue_stats"] is None
        assert b"did not report its figures" in response.content

    def test_the_chart_is_inline_svg_with_a_title_a_description_and_a_legend(self):
        process_now("acme", "recent-1", received_minutes_ago=3, processed_minutes_ago=2)
        process_now("acme", "recent-2", received_minutes_ago=3, processed_minutes_ago=1)

        content = self.client.get(console_url("overview")).content.decode()

        assert (
            '<svg viewBox="0 0 720 240" role="img" aria-labelledby="activity-title activity-desc"' in content
        )
        assert '<title id="activity-title">' in content
        assert "2 received, at most 2 in one minute; 2 processed, at most 1 in one minute." in content
        assert "Received (2)" in content and "Processed (2)" in content
        assert 'class="bar"' in content and 'class="line"' in content

    def test_the_page_loads_nothing_from_elsewhere_and_needs_no_script_of_its_own(self):
        content = self.client.get(console_url("overview")).content.decode()

        assert "cdn" not in content.lower()
        assert "https://" not in content
        assert "<script" not in content.split('id="content"')[1]

    def test_the_chart_colours_follow_the_admin_theme(self):
        content = self.client.get(console_url("overview")).content.decode()

        assert 'html[data-theme="dark"]' in content
        assert "prefers-color-scheme: dark" in content
        assert "var(--console-received)" in content and "var(--body-quiet-color)" in content

    def test_store_outages_show_a_503_page_not_a_crash(self, monkeypatch):
        from tenants.stores import StoreUnavailable

        def unavailable(*args, **kwargs):
            raise StoreUnavailable("database is locked")

        monkeypatch.setattr(type(get_store()), "list_tenants", unavailable)

        response = self.client.get(console_url("overview"))

        assert response.status_code == 503
        assert b"The log store did not answer" in response.content


class TestActivityChart:
    now = datetime(2026, 3, 1, 12, 30, 45, tzinfo=UTC)

    def test_it_covers_sixty_minutes_ending_with_the_current_one(self):
        chart = build_activity_chart([], now=self.now)

        assert len(chart.minutes) == 60
        assert chart.first_minute == datetime(2026, 3, 1, 11, 31, tzinfo=UTC)
        assert chart.last_minute == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
        assert chart.is_empty
        assert chart.description.startswith("No logs were received or processed from 11:31 to 12:30 UTC")

    def test_missing_minutes_are_zero_and_buckets_land_in_their_minute(self):
        buckets = [
            ActivityBucket(minute=datetime(2026, 3, 1, 12, 30, tzinfo=UTC), received=8, processed=3),
            ActivityBucket(minute=datetime(2026, 3, 1, 12, 0, tzinfo=UTC), received=2, processed=5),
        ]

        chart = build_activity_chart(buckets, now=self.now)

        assert [(m.received, m.processed) for m in chart.active_minutes] == [(2, 5), (8, 3)]
        assert chart.minutes[-1].received == 8
        assert (chart.total_received, chart.total_processed) == (10, 8)
        assert (chart.peak_received, chart.peak_processed) == (8, 5)

    def test_bars_and_line_stay_inside_the_plot(self):
        buckets = [ActivityBucket(minute=datetime(2026, 3, 1, 12, 10, tzinfo=UTC), received=37, processed=37)]

        chart = build_activity_chart(buckets, now=self.now)

        tallest = max(chart.minutes, key=lambda minute: minute.received)
        assert chart.plot_top <= tallest.bar_y < chart.plot_bottom
        assert tallest.bar_y + tallest.bar_height == pytest.approx(chart.plot_bottom, abs=0.2)
        assert all(
            chart.plot_left <= m.bar_x and m.bar_x + chart.bar_width <= chart.plot_right
            for m in chart.minutes
        )
        assert all(chart.plot_top <= m.line_y <= chart.plot_bottom for m in chart.minutes)
        assert int(chart.y_ticks[-1].label) >= 37

    def test_the_time_axis_is_labelled_every_ten_minutes_up_to_now(self):
        chart = build_activity_chart([], now=self.now)

        assert [tick.label for tick in chart.x_ticks] == [
            "11:40",
            "11:50",
            "12:00",
            "12:10",
            "12:20",
            "12:30",
        ]

    @pytest.mark.parametrize(("peak", "step"), [(0, 1), (3, 1), (8, 2), (10, 5), (37, 10), (1000, 500)])
    def test_gridlines_use_round_steps(self, peak, step):
        assert nice_step(peak) == step


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.2, "4 s"), (60, "1 min"), (75, "1 min 15 s"), (3600, "1 h"), (7380, "2 h 3 min"), (90000, "1 d 1 h")],
)
def test_queue_ages_read_as_short_durations(seconds, text):
    assert format_age(seconds) == text
