"""Every POST the console and the admin accept needs the CSRF token.

The URLs are not listed by hand: every route of the admin site (console pages
included) is walked, its parameters filled with real objects, and sent a POST
that would change something (replay, delete, issue a key, log out...) by a
logged-in superuser without the token. Each must be refused with 403 and
nothing may change. The same replay with the token goes through, so the
refusals are the CSRF check's and not something else's.
"""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from core.envelope import SOURCE_JSON, LogEnvelope
from processing.models import QueueMessage
from tenants.models import Tenant, TenantAPIKey
from tenants.stores import STATUS_DEAD_LETTERED, get_store

PASSWORD = "csrf-test-password-0"


def admin_routes(patterns=None, prefix: str = "") -> list[str]:
    """Every route of the admin site, as written in its URLconf."""
    routes = []
    for pattern in admin.site.get_urls() if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            routes += admin_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.append(prefix + str(pattern.pattern))
    return routes


@pytest.fixture
def world(db, settings):
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"
    tenant = Tenant.objects.create(id="acme")
    key, _ = TenantAPIKey.objects.create_key(name="k", tenant=tenant)
    group = Group.objects.create(name="operators")
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    envelope = LogEnvelope("acme", "broken-1", SOURCE_JSON, "Export 555-0100 failed")
    get_store().record_failure(envelope, error="boom", message_id="m1")
    get_store().mark_dead_lettered("acme", "broken-1")
    # A lockout: a forged POST must not lift it either.
    attempt = AccessAttempt.objects.create(
        username="mallory", ip_address="203.0.113.9", user_agent="x", failures_since_start=9
    )
    return {"tenant": tenant, "key": key, "group": group, "root": root, "attempt": attempt}


def concrete_url(route: str, world: dict) -> str:
    objects = {
        "auth/group/": str(world["group"].pk),
        "auth/user/": str(world["root"].pk),
        "tenants/tenant/": world["tenant"].pk,
        "tenants/tenantapikey/": str(world["key"].pk),
        "axes/": str(world["attempt"].pk),
    }
    path = route.removeprefix("^").removesuffix("$")
    path = path.replace("<str:tenant_id>", "acme").replace("<str:log_id>", "broken-1")
    path = path.replace("<id>", str(world["root"].pk))
    path = path.replace("<path:content_type_id>", str(ContentType.objects.get_for_model(Tenant).pk))
    path = re.sub(r"\(\?P<app_label>[a-z_|]+\)", "tenants", path).replace("(?P<url>.*)", "no-such-page/")
    if "<path:object_id>" in path:
        owner = next((value for prefix, value in objects.items() if path.startswith(prefix)), "acme")
        path = path.replace("<path:object_id>", owner)
    assert not re.search(r"[<>(?]", path), f"unfilled parameter in {route}"
    return "/admin/" + path


# What a forged form would send: enough to change something on the pages that act on POST.
FORGED = {
    "selected": ["acme/broken-1"],
    "action": "issue_api_key",
    "_selected_action": ["acme"],
    "post": "yes",
    "id": "forged-tenant",
    "name": "forged",
    "username": "forged-user",
    "password1": "Forged-Password-123",
    "password2": "Forged-Password-123",
    "old_password": PASSWORD,
    "new_password1": "Forged-Password-123",
    "new_password2": "Forged-Password-123",
    "rate_limit_per_minute": "1",
    "active": "on",
    # The console's erasure: every log of the tenant.
    "everything": "on",
}


def state() -> dict:
    record = get_store().get("acme", "broken-1")
    root = User.objects.get(username="root")
    return {
        "tenants": sorted(Tenant.objects.values_list("id", "rate_limit_per_minute", "active")),
        "keys": sorted(TenantAPIKey.objects.values_list("id", "revoked")),
        "users": sorted(User.objects.values_list("username", flat=True)),
        "password": root.password,
        "groups": Group.objects.count(),
        "queue": QueueMessage.objects.count(),
        "history": LogEntry.objects.count(),
        "lockouts": AccessAttempt.objects.count(),
        "record": (record.status, record.attempts),
    }


def test_the_walk_covers_the_console_and_every_model(world):
    urls = {concrete_url(route, world) for route in admin_routes()}
    assert {
        reverse("admin:console_replay"),
        reverse("admin:console_replay_all", args=["acme"]),
        reverse("admin:console_erase_logs", args=["acme"]),
        reverse("admin:logout"),
        reverse("admin:tenants_tenant_changelist"),
        reverse("admin:tenants_tenantapikey_add"),
        reverse("admin:auth_user_password_change", args=[world["root"].pk]),
    } <= urls


def test_every_admin_and_console_post_without_the_token_is_refused_and_changes_nothing(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["root"])
    before = state()

    refused = {}
    for route in admin_routes():
        url = concrete_url(route, world)
        response = client.post(url, FORGED)
        refused[url] = response.status_code
        assert response.status_code == 403, f"{url} answered {response.status_code} to a POST without token"
        assert b"CSRF" in response.content, url

    assert len(refused) >= 35
    assert state() == before
    assert client.get(reverse("admin:index")).status_code == 200, "the forged logout logged the user out"


def test_the_same_replay_with_the_token_goes_through(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["root"])
    page = client.get(reverse("admin:console_dead_letters"))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()

    response = client.post(
        reverse("admin:console_replay"), {"selected": ["acme/broken-1"], "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert get_store().get("acme", "broken-1").status != STATUS_DEAD_LETTERED
    assert QueueMessage.objects.count() == 1
