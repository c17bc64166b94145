"""Admin login brute force: locked out by username and by client address, lifted by a superuser.

django-axes counts failed logins in the database; after ``AXES_FAILURE_LIMIT`` for one
username, or from one client address, further logins for it are refused (429), the
right password too. The client address is the right-most ``X-Forwarded-For`` entry
(Cloud Run's front end appends it; ``TRUSTED_PROXY_COUNT`` = 1), so rotating the
entries a client writes itself does not escape the lockout. The API, which never
logs in through Django, is not affected.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from processing.models import QueueMessage
from tenants.models import Tenant, TenantAPIKey

PASSWORD = "lockout-test-password-0"
LIMIT = 3
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.10"
HOME = "192.0.2.20"


@pytest.fixture(autouse=True)
def users(db, settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.TRUSTED_PROXY_COUNT = 1
    return {
        "root": User.objects.create_superuser("root", "root@example.com", PASSWORD),
        "alice": User.objects.create_user("alice", password=PASSWORD, is_staff=True),
        "bob": User.objects.create_user("bob", password=PASSWORD, is_staff=True),
    }


def login(username: str, password: str, address: str, *, client_wrote: str = "") -> Client:
    """A login POST as it reaches the container: the front end appended ``address``."""
    client = Client()
    forwarded = f"{client_wrote}, {address}" if client_wrote else address
    client.response = client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="169.254.1.1",  # the front end's side of the connection, the same for everyone
    )
    return client


def logged_in(client: Client) -> bool:
    return client.response.status_code == 302 and "_auth_user_id" in client.session


def fail(username: str, address: str, times: int = LIMIT) -> None:
    for _ in range(times):
        assert login(username, "wrong", address).response.status_code in (200, 429)


def test_after_the_limit_the_right_password_is_refused_for_that_user_from_anywhere():
    fail("alice", ATTACKER)

    from_attacker = login("alice", PASSWORD, ATTACKER)
    from_office = login("alice", PASSWORD, OFFICE)

    assert from_attacker.response.status_code == 429 and not logged_in(from_attacker)
    assert from_office.response.status_code == 429 and not logged_in(from_office)
    assert logged_in(login("bob", PASSWORD, OFFICE)), "another user from another address is unaffected"


def test_an_address_spraying_many_usernames_is_locked_out_for_every_user():
    for username in ("alice", "bob", "root"):
        fail(username, ATTACKER, times=1)

    assert login("root", PASSWORD, ATTACKER).response.status_code == 429
    assert logged_in(login("root", PASSWORD, HOME)), "no user reached the limit: elsewhere they log in"
    assert logged_in(login("alice", PASSWORD, OFFICE))


def test_rotating_what_the_client_writes_in_x_forwarded_for_does_not_escape_the_lockout():
    for number in range(LIMIT):
        login(f"nobody{number}", "wrong", ATTACKER, client_wrote=f"10.0.0.{number}")

    refused = login("bob", PASSWORD, ATTACKER, client_wrote="10.9.9.9")

    assert refused.response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_the_lockout_is_logged_and_listed_in_the_admin(caplog):
    with caplog.at_level(logging.WARNING, logger="tenants.admin"):
        fail("alice", ATTACKER)
        login("alice", PASSWORD, ATTACKER)

    # The failure that reaches the limit, then the refused right password.
    records = [r for r in caplog.records if r.name == "tenants.admin"]
    assert [(r.username, r.client_ip) for r in records] == [("alice", ATTACKER)] * 2
    assert AccessFailureLog.objects.filter(username="alice").count() >= LIMIT
    admin = Client()
    admin.force_login(User.objects.get(username="root"))
    page = admin.get(reverse("admin:axes_accessattempt_changelist") + "?locked_out=yes")
    assert page.status_code == 200
    assert b"alice" in page.content and ATTACKER.encode() in page.content


def test_a_superuser_lifts_a_lockout_in_the_admin():
    fail("alice", ATTACKER)
    assert login("alice", PASSWORD, OFFICE).response.status_code == 429

    admin = Client()
    admin.force_login(User.objects.get(username="root"))
    attempts = list(AccessAttempt.objects.filter(username="alice").values_list("pk", flat=True))
    answer = admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": attempts, "post": "yes"},
    )

    assert answer.status_code == 302
    assert logged_in(login("alice", PASSWORD, OFFICE))


def test_staff_without_axes_permissions_cannot_lift_a_lockout():
    fail("alice", ATTACKER)
    staff = Client()
    staff.force_login(User.objects.get(username="bob"))

    page = staff.get(reverse("admin:axes_accessattempt_changelist"))

    assert page.status_code == 403
    assert login("alice", PASSWORD, OFFICE).response.status_code == 429


@pytest.mark.parametrize(
    "command", [["axes_reset_username", "alice"], ["axes_reset_ip", ATTACKER], ["axes_reset"]], ids=str
)
def test_an_operator_lifts_a_lockout_with_a_command(command):
    fail("alice", ATTACKER)
    assert login("alice", PASSWORD, ATTACKER).response.status_code == 429

    call_command(*command, stdout=io.StringIO())

    assert logged_in(login("alice", PASSWORD, ATTACKER))


def test_the_api_is_not_affected_by_bad_keys_or_by_a_locked_out_address(settings):
    settings.INGEST_AUTH = "api_key"
    settings.QUEUE_BACKEND = "database"
    tenant = Tenant.objects.create(id="acme")
    _, key = TenantAPIKey.objects.create_key(name="k", tenant=tenant)
    fail("alice", ATTACKER)
    assert login("bob", PASSWORD, ATTACKER).response.status_code == 429  # the address is locked out
    attempts = list(AccessAttempt.objects.values_list("username", "failures_since_start"))
    api = Client(HTTP_X_FORWARDED_FOR=ATTACKER)
    body = json.dumps({"tenant_id": "acme", "log_id": "1", "text": "hello"})

    bad = [
        api.post("/ingest", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer nope{n}.x")
        for n in range(LIMIT * 3)
    ]
    good = api.post("/ingest", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert {answer.status_code for answer in bad} == {401}
    assert good.status_code == 202
    assert QueueMessage.objects.filter(tenant_id="acme").count() == 1
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == attempts
