"""Tenants and API keys as admin pages: create, issue (shown once), revoke, rate limit, deactivate."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework_api_key.models import APIKey

from console.tests.console_support import ConsoleTest
from tenants.models import Tenant, TenantAPIKey

KEY_IN_MESSAGE = re.compile(r"New API key for (\S+): (\S+\.\S+)")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


class TestTenantAdminForSuperusers(ConsoleTest):
    @pytest.fixture(autouse=True)
    def login(self, console_setup):
        self.client.force_login(self.users.superuser)

    def test_a_superuser_creates_a_tenant_with_its_rate_limit_and_staff(self):
        response = self.client.post(
            reverse("admin:tenants_tenant_add"),
            {
                "id": "initech",
                "name": "Initech",
                "active": "on",
                "rate_limit_per_minute": "120",
                "staff": [self.users.acme_staff.pk],
            },
        )

        assert response.status_code == 302
        tenant = Tenant.objects.get(id="initech")
        assert tenant.rate_limit_per_minute == 120
        assert list(tenant.staff.all()) == [self.users.acme_staff]

    def test_the_changelist_lists_searches_and_links_to_the_console(self):
        response = self.client.get(reverse("admin:tenants_tenant_changelist") + "?q=acme")

        assert response.status_code == 200
        assert b"Acme Corp" in response.content
        assert b"Globex" not in response.content
        assert reverse("admin:console_tenant_logs", args=["acme"]).encode() in response.content

    def test_issuing_a_key_shows_the_plaintext_once_and_stores_only_its_hash(self):
        response = self.client.post(
            reverse("admin:tenants_tenant_changelist"),
            {"action": "issue_api_key", "_selected_action": ["acme"]},
            follow=True,
        )

        [message] = [m for m in messages_of(response) if "New API key" in m]
        tenant_id, plaintext = KEY_IN_MESSAGE.search(message).groups()
        api_key = TenantAPIKey.objects.get_from_key(plaintext)
        assert tenant_id == "acme"
        assert api_key.tenant_id == "acme"
        assert TenantAPIKey.objects.is_valid(plaintext)
        assert plaintext not in api_key.hashed_key
        assert "Authorization: Bearer <key>" in message  # the header /ingest accepts
        again = self.client.get(reverse("admin:tenants_tenant_changelist"))
        assert plaintext.encode() not in again.content

    def test_adding_a_key_on_the_key_page_shows_its_plaintext_once(self):
        response = self.client.post(
            reverse("admin:tenants_tenantapikey_add"),
            {"name": "ci", "tenant": "globex"},
            follow=True,
        )

        assert response.status_code == 200
        [message] = [m for m in messages_of(response) if "you will not be able to see it again" in m]
        plaintext = message.split(" is: ")[1].split(". ")[0]
        assert TenantAPIKey.objects.get_from_key(plaintext).tenant_id == "globex"

    def test_revoking_keys_stops_them_authenticating(self):
        api_key, plaintext = TenantAPIKey.objects.create_key(name="old", tenant=self.acme)

        response = self.client.post(
            reverse("admin:tenants_tenantapikey_changelist"),
            {"action": "revoke", "_selected_action": [api_key.pk]},
            follow=True,
        )

        api_key.refresh_from_db()
        assert api_key.revoked
        assert not TenantAPIKey.objects.is_valid(plaintext)
        assert "Revoked 1 key(s): they no longer authenticate." in messages_of(response)

    def test_setting_the_rate_limit_and_deactivating_on_the_change_page(self):
        response = self.client.post(
            reverse("admin:tenants_tenant_change", args=["acme"]),
            {"name": "Acme Corp", "rate_limit_per_minute": "30", "staff": []},
        )

        assert response.status_code == 302
        self.acme.refresh_from_db()
        assert self.acme.rate_limit_per_minute == 30
        assert not self.acme.active  # the unchecked box

    def test_the_deactivate_and_activate_actions(self):
        changelist = reverse("admin:tenants_tenant_changelist")

        self.client.post(changelist, {"action": "deactivate", "_selected_action": ["acme", "globex"]})
        assert not Tenant.objects.filter(active=True).exists()

        self.client.post(changelist, {"action": "activate", "_selected_action": ["globex"]})
        assert list(Tenant.objects.filter(active=True).values_list("id", flat=True)) == ["globex"]

    def test_the_librarys_generic_api_key_model_is_not_in_the_admin(self):
        assert not admin.site.is_registered(APIKey)
        assert admin.site.is_registered(TenantAPIKey)


class TestTenantAdminForAssignedStaff(ConsoleTest):
    @pytest.fixture(autouse=True)
    def login(self, console_setup):
        grant(
            self.users.acme_staff,
            "view_tenant",
            "change_tenant",
            "view_tenantapikey",
            "add_tenantapikey",
            "change_tenantapikey",
        )
        TenantAPIKey.objects.create_key(name="acme key", tenant=self.acme)
        TenantAPIKey.objects.create_key(name="globex key", tenant=self.globex)
        self.client.force_login(self.users.acme_staff)

    def test_staff_see_only_their_tenants(self):
        response = self.client.get(reverse("admin:tenants_tenant_changelist"))

        assert b"Acme Corp" in response.content
        assert b"Globex" not in response.content

    def test_staff_cannot_open_another_tenants_change_page(self):
        response = self.client.get(reverse("admin:tenants_tenant_change", args=["globex"]))

        assert response.status_code == 302
        assert response.url == reverse("admin:index")

    def test_staff_cannot_reassign_who_sees_a_tenant(self):
        response = self.client.get(reverse("admin:tenants_tenant_change", args=["acme"]))

        assert response.status_code == 200
        assert "staff" not in response.context["adminform"].form.fields

    def test_staff_cannot_act_on_another_tenant_through_an_action(self):
        self.client.post(
            reverse("admin:tenants_tenant_changelist"),
            {"action": "issue_api_key", "_selected_action": ["globex"]},
        )
        self.client.post(
            reverse("admin:tenants_tenant_changelist"),
            {"action": "deactivate", "_selected_action": ["globex"]},
        )

        assert TenantAPIKey.objects.filter(tenant=self.globex).count() == 1
        assert Tenant.objects.get(id="globex").active

    def test_staff_see_and_issue_keys_only_for_their_tenants(self):
        changelist = self.client.get(reverse("admin:tenants_tenantapikey_changelist"))
        add_form = self.client.get(reverse("admin:tenants_tenantapikey_add"))

        assert b"acme key" in changelist.content
        assert b"globex key" not in changelist.content
        choices = [value for value, _ in add_form.context["adminform"].form.fields["tenant"].choices if value]
        assert [str(value) for value in choices] == ["acme"]

    def test_staff_cannot_add_a_key_for_another_tenant_by_post(self):
        response = self.client.post(
            reverse("admin:tenants_tenantapikey_add"), {"name": "x", "tenant": "globex"}
        )

        assert response.status_code == 200  # the form comes back with an error
        assert TenantAPIKey.objects.filter(tenant=self.globex).count() == 1
