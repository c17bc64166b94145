"""``manage.py create_api_key ID [--name NAME]``: another API key for an existing tenant.

Printed once, as the last line of the output; revoke keys in the admin.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.management.commands.create_tenant import check_key_name
from tenants.models import Tenant, TenantAPIKey


class Command(BaseCommand):
    help = "Issue a new API key for an existing tenant and print it (the last line of the output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", help="An existing tenant's id.")
        parser.add_argument("--name", default="default", help="A label for the key (default 'default').")

    def handle(self, *args, tenant_id: str, name: str, **options) -> None:
        check_key_name(name)
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            raise CommandError(f"No tenant {tenant_id!r}; create it with create_tenant.")
        _, key = TenantAPIKey.objects.create_key(name=name, tenant=tenant)
        self.stdout.write(f"New API key {name!r} for tenant {tenant.id!r}; it is shown only this once:")
        self.stdout.write(key)
