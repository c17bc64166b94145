"""manage.py create_api_key: another key for an existing tenant, printed once on the last line."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tenants.models import Tenant, TenantAPIKey

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    stdout = io.StringIO()
    call_command("create_api_key", *args, stdout=stdout)
    return stdout.getvalue().splitlines()


def test_it_issues_a_new_working_key_for_the_tenant():
    Tenant.objects.create(id="acme")

    key = run("acme", "--name", "ci")[-1]

    api_key = TenantAPIKey.objects.get_from_key(key)
    assert (api_key.tenant_id, api_key.name) == ("acme", "ci")


def test_each_call_issues_a_different_key_and_both_work():
    Tenant.objects.create(id="acme")

    first, second = run("acme")[-1], run("acme")[-1]

    assert first != second
    assert TenantAPIKey.objects.is_valid(first)
    assert TenantAPIKey.objects.is_valid(second)


def test_an_unknown_tenant_is_an_error():
    with pytest.raises(CommandError, match="No tenant 'ghost'"):
        run("ghost")

    assert not TenantAPIKey.objects.exists()


def test_a_name_too_long_for_the_key_is_an_error():
    Tenant.objects.create(id="acme")

    with pytest.raises(CommandError, match="1-50 characters"):
        run("acme", "--name", "n" * 51)
