"""manage.py create_tenant: a tenant and its first key, the key alone on the last line."""

import io
import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from tenants.auth import clear_auth_caches
from tenants.models import Tenant, TenantAPIKey

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    stdout = io.StringIO()
    call_command("create_tenant", *args, stdout=stdout)
    return stdout.getvalue().splitlines()


def test_it_creates_the_tenant_with_name_and_rate():
    run("acme", "--name", "Acme Corp", "--rate", "120")

    tenant = Tenant.objects.get(pk="acme")
    assert (tenant.name, tenant.rate_limit_per_minute, tenant.active) == ("Acme Corp", 120, True)


def test_the_default_rate_comes_from_settings(settings):
    settings.INGEST_DEFAULT_RATE_PER_MINUTE = 777

    run("acme")

    assert Tenant.objects.get(pk="acme").rate_limit_per_minute == 777


def test_the_last_line_is_a_working_key_for_the_tenant():
    key = run("acme")[-1]

    api_key = TenantAPIKey.objects.get_from_key(key)
    assert api_key.tenant_id == "acme"
    assert TenantAPIKey.objects.is_valid(key)


def test_the_key_is_stored_only_as_a_hash():
    key = run("acme")[-1]

    stored = TenantAPIKey.objects.get()
    assert key not in (stored.id, stored.hashed_key)


def test_the_printed_key_authenticates_at_ingest(client, settings):
    settings.INGEST_AUTH = "api_key"
    settings.QUEUE_BACKEND = "memory"
    clear_auth_caches()
    key = run("acme")[-1]

    response = client.post(
        "/ingest",
        data=json.dumps({"tenant_id": "acme", "log_id": "1", "text": "hi"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )

    assert response.status_code == 202


def test_an_existing_tenant_is_an_error_and_gets_no_new_key():
    run("acme")

    with pytest.raises(CommandError, match="already exists"):
        run("acme")

    assert TenantAPIKey.objects.count() == 1


@pytest.mark.parametrize("tenant_id", ["../x", "__x__", "", "a b", "t" * 129])
def test_an_invalid_id_is_an_error(tenant_id):
    with pytest.raises(CommandError):
        run(tenant_id)

    assert not Tenant.objects.exists()


def test_a_negative_rate_is_an_error():
    with pytest.raises(CommandError, match="--rate"):
        run("acme", "--rate", "-1")


def test_errors_exit_non_zero_with_the_reason_on_stderr(capsys):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "create_tenant", "../escape"])

    assert exit_info.value.code != 0
    assert "tenant id may contain only" in capsys.readouterr().err
