"""With 10,000+ logs per tenant the console's pages cost a bounded number of queries.

Counting queries (not timing) is what stays stable on any machine: each page
must read one page of records and the counters, never every record, and never
one query per row.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from console.tests.console_support import BASE_TIME, ConsoleTest, console_url
from console.views.dead_letters import PER_TENANT
from console.views.logs import PAGE_SIZE
from tenants.models import StoredLog
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, get_store

PROCESSED = 10_000
DEAD_LETTERED = 300
RETRYING = 200
# Session, user, assigned tenants, permissions, the store's page and counters, with room
# to spare; what matters is that the number does not grow with the number of logs.
MAX_QUERIES_PER_PAGE = 12


def seed(tenant_id: str, status: str, count: int, *, offset: int = 0) -> None:
    """Rows straight into the database store's table: far faster than 10,000 store writes."""
    rows = [
        StoredLog(
            tenant_id=tenant_id,
            log_id=f"{status}-{number:05d}",
            source="json_upload",
            original_text=f"User 555-0199 event {number}",
            modified_data=f"User [REDACTED] event {number}" if status == STATUS_PROCESSED else None,
            status=status,
            attempts=5 if status == STATUS_DEAD_LETTERED else 1,
            last_error="" if status == STATUS_PROCESSED else "boom",
            received_at=BASE_TIME - timedelta(seconds=offset + number),
            processed_at=BASE_TIME if status == STATUS_PROCESSED else None,
            message_id=f"msg-{number}",
            request_id=f"req-{number}",
        )
        for number in range(count)
    ]
    StoredLog.objects.bulk_create(rows, batch_size=2000)


@pytest.mark.slow
class TestQueriesWithManyLogs(ConsoleTest):
    @pytest.fixture(autouse=True)
    def many_logs(self, console_setup, settings):
        settings.LOG_STORE_BACKEND = "database"
        seed("acme", STATUS_PROCESSED, PROCESSED)
        seed("acme", STATUS_DEAD_LETTERED, DEAD_LETTERED, offset=PROCESSED)
        seed("acme", STATUS_RETRYING, RETRYING, offset=PROCESSED + DEAD_LETTERED)
        seed("globex", STATUS_DEAD_LETTERED, DEAD_LETTERED)
        assert sum(get_store().counts("acme").values()) == PROCESSED + DEAD_LETTERED + RETRYING
        self.client.force_login(self.users.acme_staff)

    def get(self, url: str, django_assert_max_num_queries):
        with django_assert_max_num_queries(MAX_QUERIES_PER_PAGE):
            response = self.client.get(url)
        assert response.status_code == 200, url
        return response

    def test_every_console_page_reads_a_bounded_number_of_queries(self, django_assert_max_num_queries):
        logs_url = console_url("tenant_logs", "acme")

        overview = self.get(console_url("overview"), django_assert_max_num_queries)
        first_page = self.get(logs_url, django_assert_max_num_queries)
        filtered = self.get(
            logs_url
            + "?status=dead_lettered&received_after=2026-03-01T09:00&received_before=2026-03-01T12:00",
            django_assert_max_num_queries,
        )
        by_id = self.get(logs_url + "?log_id=processed-04321", django_assert_max_num_queries)
        self.get(console_url("log_detail", "acme", "dead_lettered-00042"), django_assert_max_num_queries)
        confirmation = self.get(console_url("replay_all", "acme"), django_assert_max_num_queries)

        assert overview.context["totals"][STATUS_PROCESSED] == PROCESSED
        assert len(first_page.context["records"]) == PAGE_SIZE
        assert len(filtered.context["records"]) == PAGE_SIZE
        assert [record.log_id for record, _, _ in by_id.context["records"]] == ["processed-04321"]
        assert confirmation.context["count"] == DEAD_LETTERED

    def test_a_deep_page_costs_what_the_first_page_costs(self, django_assert_max_num_queries):
        url = console_url("tenant_logs", "acme") + "?status=processed"
        for _ in range(5):
            older = self.client.get(url).context["pages"].older
            url = console_url("tenant_logs", "acme") + older

        response = self.get(url, django_assert_max_num_queries)

        assert len(response.context["records"]) == PAGE_SIZE
        assert response.context["records"][0][0].log_id == f"processed-{5 * PAGE_SIZE:05d}"

    def test_dead_letters_across_tenants_cost_one_page_per_tenant(self, django_assert_max_num_queries):
        self.client.force_login(self.users.superuser)

        response = self.get(console_url("dead_letters"), django_assert_max_num_queries)

        assert [len(section.records) for section in response.context["sections"]] == [PER_TENANT, PER_TENANT]
