"""The API-key and tenant admin: actions take effect at once, and filters show only what staff may see.

The admin's revoke, deactivate and activate actions change many rows with one
``update()``, which sends no ``post_save``: the process that ran the action must
still stop trusting what it cached about those keys and tenants before its next
request (other processes follow within ``INGEST_AUTH_CACHE_SECONDS``, as documented).
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from tenants.models import Tenant, TenantAPIKey


@pytest.fixture
def world(db, settings):
    settings.INGEST_AUTH = "api_key"
    settings.QUEUE_BACKEND = "database"
    settings.INGEST_AUTH_CACHE_SECONDS = 3600  # a cached grant would outlive the test
    acme = Tenant.objects.create(id="acme", name="Acme Corp")
    globex = Tenant.objects.create(id="globex", name="Globex Secret Project")
    root = User.objects.create_superuser("root", "root@example.com", "x")
    admin = Client()
    admin.force_login(root)
    return {
        "acme": acme,
        "globex": globex,
        "admin": admin,
        "key": TenantAPIKey.objects.create_key(name="acme key", tenant=acme),
        "globex_key": TenantAPIKey.objects.create_key(name="globex key", tenant=globex),
    }


def ingest(key: str, tenant_id: str = "acme", log_id: str = "1") -> int:
    body = json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "hello"})
    return (
        Client()
        .post("/ingest", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
        .status_code
    )


def test_a_key_revoked_with_the_admin_action_is_refused_on_the_very_next_request(world):
    api_key, plaintext = world["key"]
    assert ingest(plaintext) == 202  # now cached in this process

    world["admin"].post(
        reverse("admin:tenants_tenantapikey_changelist"),
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )

    assert ingest(plaintext, log_id="2") == 401
    assert ingest(world["globex_key"][1], tenant_id="globex") == 202, "other keys keep working"


def test_a_tenant_deactivated_with_the_admin_action_is_refused_on_the_very_next_request(world):
    changelist = reverse("admin:tenants_tenant_changelist")
    plaintext = world["key"][1]
    assert ingest(plaintext) == 202

    world["admin"].post(changelist, {"action": "deactivate", "_selected_action": ["acme"]})
    refused = ingest(plaintext, log_id="2")
    world["admin"].post(changelist, {"action": "activate", "_selected_action": ["acme"]})

    assert refused == 403
    assert ingest(plaintext, log_id="3") == 202, "activation takes effect at once too"


def test_tenant_scoped_staff_see_only_their_tenants_in_the_key_list_filter(world):
    staff = User.objects.create_user("acme-staff", password="x", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_tenantapikey"]))
    initech = Tenant.objects.create(id="initech", name="Initech")
    TenantAPIKey.objects.create_key(name="initech key", tenant=initech)
    for tenant in (world["acme"], initech):
        tenant.staff.add(staff)
    client = Client()
    client.force_login(staff)

    page = client.get(reverse("admin:tenants_tenantapikey_changelist"))

    assert page.status_code == 200
    [tenant_filter] = [spec for spec in page.context["cl"].filter_specs if spec.title == "tenant"]
    assert [choice["display"] for choice in tenant_filter.choices(page.context["cl"])][1:] == [
        "Acme Corp",
        "Initech",
    ]
    assert b"Globex" not in page.content and b"globex" not in page.content


def test_superusers_still_filter_by_every_tenant_with_keys(world):
    page = world["admin"].get(reverse("admin:tenants_tenantapikey_changelist"))

    [tenant_filter] = [spec for spec in page.context["cl"].filter_specs if spec.title == "tenant"]
    assert [choice["display"] for choice in tenant_filter.choices(page.context["cl"])][1:] == [
        "Acme Corp",
        "Globex Secret Project",
    ]
