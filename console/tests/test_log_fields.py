"""The log detail page shows what a log said about itself: event time, severity, attributes."""

from __future__ import annotations

from dataclasses import replace

from console.tests.console_support import BASE_TIME, ConsoleTest, console_url, envelope
from tenants.stores import get_store


def shipped(log_id: str):
    return replace(
        envelope("acme", log_id),
        event_time="2026-02-28T23:59:58.125000+00:00",
        severity="warn",
        attributes={"host": "web-1", "caller": "555-0100"},
    )


class TestLogFields(ConsoleTest):
    def test_a_processed_log_shows_its_event_time_severity_and_redacted_attributes(self):
        log = shipped("shipped-1")
        get_store().save_result(
            log,
            modified_data="redacted",
            message_id="m-1",
            processed_at=BASE_TIME,
            attributes={"host": "web-1", "caller": "[REDACTED]"},
        )
        self.client.force_login(self.users.acme_staff)

        page = self.client.get(console_url("log_detail", "acme", "shipped-1")).content.decode()

        assert "2026-02-28 23:59:58.125000" in page
        assert ">warn<" in page
        assert "web-1" in page
        assert "[REDACTED]" in page
        assert "555-0100" not in page

    def test_a_log_not_processed_yet_hides_its_unredacted_attributes_without_the_permission(self):
        get_store().record_failure(shipped("shipped-2"), error="boom", message_id="m-2")

        self.client.force_login(self.users.acme_staff)
        hidden = self.client.get(console_url("log_detail", "acme", "shipped-2")).content.decode()
        self.client.force_login(self.users.acme_reader)
        shown = self.client.get(console_url("log_detail", "acme", "shipped-2")).content.decode()

        assert "555-0100" not in hidden
        assert "Hidden until processed" in hidden
        assert "555-0100" in shown

    def test_a_log_without_them_says_so(self):
        get_store().save_result(
            envelope("acme", "plain"), modified_data="x", message_id="m", processed_at=BASE_TIME
        )
        self.client.force_login(self.users.acme_staff)

        page = self.client.get(console_url("log_detail", "acme", "plain")).content.decode()

        assert "not given" in page

    def test_the_tenant_page_links_to_its_intake_rejections(self):
        self.client.force_login(self.users.acme_staff)

        page = self.client.get(console_url("tenant_logs", "acme")).content.decode()

        assert "/admin/ingest/intakerejection/?tenant_id__exact=acme" in page
