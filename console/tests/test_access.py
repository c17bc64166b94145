"""Who reaches what in the console: every page and every action, by every kind of user."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from console.tests.console_support import (
    ConsoleTest,
    add_dead_letter,
    add_processed,
    add_retrying,
    console_url,
)
from tenants.stores import STATUS_DEAD_LETTERED, get_store


class AccessTest(ConsoleTest):
    """Each tenant has a processed, a retrying (acme only) and a dead-lettered log."""

    @pytest.fixture(autouse=True)
    def logs(self, console_setup):
        add_processed("acme", "acme-ok")
        add_retrying("acme", "acme-retry")
        add_dead_letter("acme", "acme-dead")
        add_processed("globex", "globex-ok")
        add_dead_letter("globex", "globex-dead")


def every_get_url() -> list[str]:
    return [
        console_url("index"),
        console_url("overview"),
        console_url("dead_letters"),
        console_url("tenant_logs", "acme"),
        console_url("log_detail", "acme", "acme-dead"),
        console_url("replay_all", "acme"),
    ]


def assert_dead_lettered(tenant_id: str, log_id: str) -> None:
    assert get_store().get(tenant_id, log_id).status == STATUS_DEAD_LETTERED


class TestAnonymousAndNonStaff(AccessTest):
    @pytest.mark.parametrize("url", every_get_url())
    def test_anonymous_users_are_sent_to_the_admin_login(self, url):
        response = self.client.get(url)

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))

    @pytest.mark.parametrize("username", ["customer", "gone-staff"])
    @pytest.mark.parametrize("url", every_get_url())
    def test_non_staff_and_inactive_users_get_no_page(self, url, username):
        self.client.force_login(self.users.customer if username == "customer" else self.users.inactive_staff)

        response = self.client.get(url)

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
        assert b"acme" not in response.content

    def test_an_anonymous_replay_post_replays_nothing(self):
        response = self.client.post(console_url("replay"), {"selected": "acme/acme-dead"})

        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
        assert_dead_lettered("acme", "acme-dead")
        assert self.queue.replayed == []

    def test_a_non_staff_replay_all_post_replays_nothing(self):
        self.client.force_login(self.users.customer)

        self.client.post(console_url("replay_all", "acme"))

        assert_dead_lettered("acme", "acme-dead")
        assert self.queue.replayed == []


class TestStaffOfOneTenant(AccessTest):
    def test_the_overview_lists_only_the_assigned_tenant(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("overview"))

        assert response.status_code == 200
        assert [row.tenant_id for row in response.context["rows"]] == ["acme"]
        assert b"globex" not in response.content.lower()

    def test_the_overview_totals_count_only_the_assigned_tenant(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("overview"))

        assert response.context["totals"] == {"processed": 1, "retrying": 1, "dead_lettered": 1}

    def test_the_dead_letters_page_shows_only_the_assigned_tenant(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("dead_letters"))

        assert b"acme-dead" in response.content
        assert b"globex-dead" not in response.content

    @pytest.mark.parametrize(
        "url",
        [
            console_url("tenant_logs", "globex"),
            console_url("tenant_logs", "globex") + "?status=dead_lettered",
            console_url("tenant_logs", "globex") + "?log_id=globex-dead",
            console_url("log_detail", "globex", "globex-dead"),
            console_url("log_detail", "globex", "no-such-log"),
            console_url("replay_all", "globex"),
            console_url("tenant_logs", "no-such-tenant"),
        ],
    )
    def test_another_tenants_pages_are_not_found(self, url):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(url)

        assert response.status_code == 404
        assert b"globex-dead" not in response.content

    def test_a_log_id_of_another_tenant_is_not_found_under_the_own_tenant(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("log_detail", "acme", "globex-dead"))

        assert response.status_code == 404

    def test_replaying_another_tenants_log_by_post_is_not_found(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.post(console_url("replay"), {"selected": "globex/globex-dead"})

        assert response.status_code == 404
        assert_dead_lettered("globex", "globex-dead")
        assert self.queue.replayed == []
        assert not LogEntry.objects.exists()

    def test_a_selection_mixing_in_another_tenant_replays_nothing(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.post(
            console_url("replay"), {"selected": ["acme/acme-dead", "globex/globex-dead"]}
        )

        assert response.status_code == 404
        assert_dead_lettered("acme", "acme-dead")
        assert_dead_lettered("globex", "globex-dead")
        assert self.queue.replayed == []

    def test_replaying_all_of_another_tenant_by_post_is_not_found(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.post(console_url("replay_all", "globex"))

        assert response.status_code == 404
        assert_dead_lettered("globex", "globex-dead")
        assert self.queue.replayed == []

    def test_staff_without_any_tenant_see_an_empty_overview_and_no_tenant(self):
        self.client.force_login(self.users.unassigned_staff)

        overview = self.client.get(console_url("overview"))
        tenant_page = self.client.get(console_url("tenant_logs", "acme"))

        assert overview.status_code == 200
        assert overview.context["rows"] == []
        assert b"not assigned to any tenant" in overview.content
        assert tenant_page.status_code == 404

    def test_the_replay_endpoint_refuses_get(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("replay") + "?selected=acme/acme-dead")

        assert response.status_code == 405
        assert_dead_lettered("acme", "acme-dead")

    def test_a_replay_post_without_a_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.users.acme_staff)

        response = client.post(console_url("replay"), {"selected": "acme/acme-dead"})

        assert response.status_code == 403
        assert_dead_lettered("acme", "acme-dead")
        assert self.queue.replayed == []


class TestOriginalText(AccessTest):
    def test_staff_without_the_permission_see_only_the_redacted_text(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("log_detail", "acme", "acme-ok"))

        assert response.status_code == 200
        assert b"User [REDACTED] did thing acme-ok" in response.content
        assert b"555-0199" not in response.content
        assert b"needs the" in response.content

    def test_staff_with_the_permission_see_the_original_text(self):
        self.client.force_login(self.users.acme_reader)

        response = self.client.get(console_url("log_detail", "acme", "acme-ok"))

        assert b"User 555-0199 did thing acme-ok" in response.content

    def test_the_permission_does_not_open_another_tenant(self):
        self.client.force_login(self.users.acme_reader)

        response = self.client.get(console_url("log_detail", "globex", "globex-ok"))

        assert response.status_code == 404

    def test_superusers_see_the_original_text(self):
        self.client.force_login(self.users.superuser)

        response = self.client.get(console_url("log_detail", "acme", "acme-ok"))

        assert b"User 555-0199 did thing acme-ok" in response.content


class TestSuperuser(AccessTest):
    def test_superusers_see_every_tenant_on_the_overview(self):
        self.client.force_login(self.users.superuser)

        response = self.client.get(console_url("overview"))

        assert [row.tenant_id for row in response.context["rows"]] == ["acme", "globex"]

    def test_superusers_see_tenants_known_only_to_the_store(self):
        add_processed("orphan", "orphan-1")
        self.client.force_login(self.users.superuser)

        overview = self.client.get(console_url("overview"))
        tenant_page = self.client.get(console_url("tenant_logs", "orphan"))

        assert "orphan" in [row.tenant_id for row in overview.context["rows"]]
        assert tenant_page.status_code == 200
        assert b"orphan-1" in tenant_page.content

    def test_superusers_open_any_tenants_logs_and_dead_letters(self):
        self.client.force_login(self.users.superuser)

        globex = self.client.get(console_url("tenant_logs", "globex"))
        dead_letters = self.client.get(console_url("dead_letters"))

        assert b"globex-ok" in globex.content
        assert b"acme-dead" in dead_letters.content
        assert b"globex-dead" in dead_letters.content

    def test_a_malformed_tenant_id_is_not_found_even_for_superusers(self):
        self.client.force_login(self.users.superuser)

        response = self.client.get(console_url("tenant_logs", "__reserved__"))

        assert response.status_code == 404


class TestAdminIndex(AccessTest):
    def test_the_admin_index_links_to_the_console_for_staff(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(reverse("admin:index"))

        assert response.status_code == 200
        assert console_url("overview").encode() in response.content
        assert console_url("dead_letters").encode() in response.content

    def test_the_console_address_leads_to_the_overview(self):
        self.client.force_login(self.users.acme_staff)

        response = self.client.get(console_url("index"))

        assert response.status_code == 302
        assert response.url == console_url("overview")
