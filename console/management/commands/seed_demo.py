"""``manage.py seed_demo``: demo tenants, staff users and logs for a local try-out.

``make run`` and ``make demo`` run it after ``migrate``, so a new user lands on a
console with something in it: three tenants, a superuser and a staff user of one
tenant (their credentials printed), and a few dozen short logs per tenant on the
queue, some carrying ``[demo:fail=N]`` markers so that, once the worker has run,
every status (processed, retrying, dead lettered) shows up.

It is safe to run again: tenants and users are reused (the password is reset, so
the printed one always works), and a tenant's demo logs are published only once.
It refuses to run without DEBUG: it prints passwords and relies on demo failures.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope
from processing.queues import get_queue
from tenants.models import Tenant
from tenants.stores import get_store

CONSOLE_URL = "http://127.0.0.1:8000/admin/"
ADMIN_USERNAME = "admin"
TENANT_STAFF_USERNAME = "acme-staff"
TENANT_STAFF_TENANT = "acme"
PASSWORD_ENV_VAR = "DEMO_ADMIN_PASSWORD"  # noqa: S105 (a variable name, not a password)
DEMO_REQUEST_ID = "seed-demo"

DEMO_TENANTS = {"acme": "Acme Corp", "beta_inc": "Beta Inc", "globex": "Globex Corporation"}
# Model permissions that let tenant staff browse the admin pages of their tenant;
# the console itself only needs is_staff and the tenant assignment. Deliberately
# not tenants.view_original_text: this user sees redacted text only.
TENANT_STAFF_PERMISSIONS = ("tenants.view_tenant", "tenants.view_tenantapikey")


@dataclass(frozen=True)
class DemoPerson:
    name: str
    email: str
    phone: str


# Texts stay short: the worker sleeps PROCESSING_DELAY_PER_CHAR (0.05 s) per character.
LOG_TEMPLATES = (
    "User {phone} accessed the system",
    "Login failed for {email} from 10.0.4.17",
    "Callback requested by {name} at {phone}",
    "Password reset mailed to {email}",
    "Card 4111 1111 1111 1111 declined, $42.50",
    "Order 8812 shipped, SMS to {phone}",
    "Health check ok in 12 ms (v2.3.1)",
    "Invoice INV-2041 sent to {email}",
    "SSN 123-45-6789 flagged for manual review",
    "Fax to 555.123.4567 failed, retry at 09:14",
    "Support call from +44 20 7946 0958 logged",
    "Disk 81% full on db-2, alert to {email}",
)
DEMO_PEOPLE = {
    "acme": (
        DemoPerson("Jane Doe", "jane.doe@acme.example", "555-0199"),
        DemoPerson("Raj Patel", "raj@acme.example", "(555) 123-4567"),
    ),
    "beta_inc": (
        DemoPerson("Ana Silva", "ana.silva@beta.example", "+1-555-123-4567"),
        DemoPerson("Tom Berg", "tom@beta.example", "555-1234"),
    ),
    "globex": (
        DemoPerson("Hank Scorpio", "hank@globex.example", "5551234567"),
        DemoPerson("Mindy Chen", "m.chen@globex.example", "(555) 987-6543"),
    ),
}
# Fails twice then succeeds (retrying, then processed), or never succeeds (dead lettered).
FLAKY_TEMPLATES = (
    "Sync to CRM for {email} [demo:fail=2]",
    "Webhook to {phone} timed out [demo:fail=2]",
)
BROKEN_TEMPLATES = ("Export of {email} corrupt [demo:fail=always]",)


def demo_log_id(index: int) -> str:
    # Never "123": the README's curl example uses acme's log 123.
    return f"demo-{index:03d}"


def demo_envelopes(tenant_id: str) -> list[LogEnvelope]:
    """The demo logs of one tenant, alternating JSON and text uploads."""
    texts = [
        template.format(name=person.name, email=person.email, phone=person.phone)
        for person in DEMO_PEOPLE[tenant_id]
        for template in LOG_TEMPLATES
    ]
    person = DEMO_PEOPLE[tenant_id][0]
    texts += [
        template.format(name=person.name, email=person.email, phone=person.phone)
        for template in FLAKY_TEMPLATES + BROKEN_TEMPLATES
    ]
    return [
        LogEnvelope(
            tenant_id=tenant_id,
            log_id=demo_log_id(index),
            source=SOURCE_JSON if index % 2 else SOURCE_TEXT,
            text=text,
            request_id=DEMO_REQUEST_ID,
        )
        for index, text in enumerate(texts, start=1)
    ]


class Command(BaseCommand):
    help = "Create demo tenants, a superuser and a tenant staff user (credentials printed), and demo logs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-logs",
            action="store_true",
            help="Create tenants and users only; publish no demo logs.",
        )

    def handle(self, *args, skip_logs: bool = False, **options) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo is for local development only: it creates users with printed "
                "passwords and relies on demo failures. Run it with DJANGO_DEBUG=1."
            )
        password = os.environ.get(PASSWORD_ENV_VAR) or secrets.token_urlsafe(12)
        with transaction.atomic():
            tenants, created_ids = {}, set()
            for tenant_id, name in DEMO_TENANTS.items():
                tenants[tenant_id], created = Tenant.objects.get_or_create(
                    id=tenant_id, defaults={"name": name}
                )
                if created:
                    created_ids.add(tenant_id)
                self.stdout.write(f"Tenant {tenant_id} {'created' if created else 'already exists'}.")
            self._superuser(password)
            self._tenant_staff(password, tenants[TENANT_STAFF_TENANT])
            if not skip_logs:
                for tenant_id in DEMO_TENANTS:
                    self._publish_demo_logs(tenant_id, created=tenant_id in created_ids)
        self._print_credentials(password)

    def _superuser(self, password: str) -> None:
        user, _ = get_user_model().objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        user.is_active = user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

    def _tenant_staff(self, password: str, tenant: Tenant) -> None:
        user, _ = get_user_model().objects.get_or_create(
            username=TENANT_STAFF_USERNAME, defaults={"email": "staff@acme.example"}
        )
        user.is_active = user.is_staff = True
        user.is_superuser = False
        user.set_password(password)
        user.save()
        user.user_permissions.set(_permissions(TENANT_STAFF_PERMISSIONS))
        user.assigned_tenants.set([tenant])

    def _publish_demo_logs(self, tenant_id: str, *, created: bool) -> None:
        envelopes = demo_envelopes(tenant_id)
        # A tenant that existed got its demo logs when it was created (in the same
        # transaction); its first demo record in the store also tells, should the
        # tenant row have been deleted and recreated since.
        if not created or get_store().get(tenant_id, envelopes[0].log_id) is not None:
            self.stdout.write(f"Demo logs for {tenant_id} were published before; not again.")
            return
        get_queue().publish_many(envelopes)
        self.stdout.write(f"Published {len(envelopes)} demo logs for {tenant_id}.")

    def _print_credentials(self, password: str) -> None:
        source = f"from {PASSWORD_ENV_VAR}" if os.environ.get(PASSWORD_ENV_VAR) else "new on every run"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in to the staff console:"))
        self.stdout.write(f"  URL:       {CONSOLE_URL}")
        self.stdout.write(f"  Username:  {ADMIN_USERNAME}   (superuser, every tenant)")
        self.stdout.write(f"  Password:  {password}   ({source})")
        self.stdout.write(
            f"  Also:      {TENANT_STAFF_USERNAME} with the same password "
            f"(staff of {TENANT_STAFF_TENANT} only, redacted text only)"
        )


def _permissions(names: tuple[str, ...]) -> list[Permission]:
    permissions = []
    for name in names:
        app_label, codename = name.split(".")
        permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return permissions
