"""Findings in the console: on a log's detail page, and counted per tenant over its newest logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.findings import findings_summary
from console.tests.console_support import ConsoleTest, add_retrying, console_url
from core.envelope import SOURCE_JSON, LogEnvelope
from tenants.stores import get_store
from tenants.stores.memory import MemoryLogStore

BASE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add_log(store, tenant_id: str, log_id: str, findings: dict, *, version: int = 1, minutes_ago: int = 0):
    envelope = LogEnvelope(
        tenant_id, log_id, SOURCE_JSON, "text", (BASE - timedelta(minutes=minutes_ago)).isoformat()
    )
    store.save_result(
        envelope,
        modified_data="text",
        message_id="m",
        processed_at=BASE,
        findings=findings,
        policy_version=version,
    )


class TestLogDetail(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        add_log(get_store(), "acme", "found", {"phone": 2, "custom:employee_id": 1}, version=3)
        add_log(get_store(), "acme", "clean", {}, version=0)
        add_retrying("acme", "failing")
        self.client.force_login(self.users.acme_staff)

    def test_the_detail_shows_each_detectors_count_and_the_policy_version(self):
        response = self.client.get(console_url("log_detail", "acme", "found"))

        html = response.content.decode()
        assert 'id="policy-version">3</td>' in html
        assert '<span class="mono" data-detector="custom:employee_id">custom:employee_id</span>: 1' in html
        assert '<span class="mono" data-detector="phone">phone</span>: 2' in html

    def test_a_log_without_findings_says_nothing_was_redacted_under_the_default(self):
        html = self.client.get(console_url("log_detail", "acme", "clean")).content.decode()

        assert "nothing: no value was redacted" in html
        assert "(the default policy)" in html

    def test_a_log_not_processed_yet_has_no_findings(self):
        html = self.client.get(console_url("log_detail", "acme", "failing")).content.decode()

        assert "findings are stored with the redacted text" in html


class TestTenantFindings(ConsoleTest):
    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        store = get_store()
        add_log(store, "acme", "a", {"phone": 2, "email": 1}, minutes_ago=1)
        add_log(store, "acme", "b", {"phone": 1}, minutes_ago=2)
        add_log(store, "acme", "c", {}, version=0, minutes_ago=3)
        add_log(store, "globex", "g", {"ssn": 9})
        add_retrying("acme", "failing")

    def test_staff_see_counts_per_detector_and_per_version_of_their_tenant(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("findings", "acme"))

        summary = response.context["summary"]
        assert (summary.examined, summary.with_findings) == (3, 2)
        assert summary.rows() == [("phone", 3, 2), ("email", 1, 1)]
        assert response.context["versions"] == [(1, 2), (0, 1)]
        assert b"ssn" not in response.content

    def test_another_tenants_findings_are_not_found(self):
        self.client.force_login(self.users.acme_staff)

        assert self.client.get(console_url("findings", "globex")).status_code == 404

    def test_the_tenant_page_links_to_them(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("tenant_logs", "acme"))

        assert console_url("findings", "acme").encode() in response.content


def test_counting_reads_at_most_the_newest_limit_records():
    store = MemoryLogStore()
    for index in range(30):
        add_log(store, "acme", f"log-{index:02d}", {"phone": 1}, minutes_ago=index)

    summary = findings_summary(store, "acme", limit=12)

    assert (summary.examined, summary.per_detector["phone"], summary.more) == (12, 12, True)
    assert summary.newest == BASE
    assert summary.oldest == BASE - timedelta(minutes=11)
    assert findings_summary(store, "acme", limit=100).more is False
