"""``manage.py create_tenant ID [--name NAME] [--rate N] [--retention-days N] [--original-text-retention-days N]``.

A tenant and its first API key.

The key is printed once, as the last line of the output, so scripts can take it
with ``| tail -n 1``; only its hash is stored.
"""

from __future__ import annotations

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from core.identifiers import identifier_error
from tenants.models import Tenant, TenantAPIKey

KEY_NAME_MAX_LENGTH = 50
KEEP = "keep"
RETENTION_FIELDS = ("retention_days", "original_text_retention_days")


def retention_days(minimum: int):
    """An argparse type: a whole number of days from ``minimum``, or "keep" (no limit: None)."""

    def parse(value: str) -> int | None:
        if value.strip().lower() == KEEP:
            return None
        try:
            days = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number of days or {KEEP!r}, not {value!r}"
            ) from None
        if days < minimum:
            raise argparse.ArgumentTypeError(f"expected at least {minimum} day(s) or {KEEP!r}, not {days}")
        return days

    return parse


def check_key_name(name: str) -> None:
    if not name.strip() or len(name) > KEY_NAME_MAX_LENGTH:
        raise CommandError(f"The key name must be 1-{KEY_NAME_MAX_LENGTH} characters.")


class Command(BaseCommand):
    help = "Create a tenant and print a new API key for it (the last line of the output)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant_id", help="The tenant id: 1-128 of A-Z a-z 0-9 . _ : -")
        parser.add_argument("--name", default="", help="Display name (default: none; the id is shown).")
        parser.add_argument(
            "--rate",
            type=int,
            default=None,
            help="Logs per minute at /ingest and /v1/logs before 429 (default INGEST_DEFAULT_RATE_PER_MINUTE).",
        )
        parser.add_argument(
            "--key-name", default="default", help="A label for the API key (default 'default')."
        )
        defaults = {field: Tenant._meta.get_field(field).default for field in RETENTION_FIELDS}
        parser.add_argument(
            "--retention-days",
            type=retention_days(1),
            default=defaults["retention_days"],
            help="Days a log is kept after it was received, or 'keep' for no limit "
            f"(default {defaults['retention_days']}).",
        )
        parser.add_argument(
            "--original-text-retention-days",
            type=retention_days(0),
            default=defaults["original_text_retention_days"],
            help="Days the unredacted original text is kept (0: never stored; 'keep': as long as the log) "
            f"(default {defaults['original_text_retention_days']}).",
        )

    def handle(self, *args, tenant_id: str, name: str, rate: int | None, key_name: str, **options) -> None:
        retention = {field: options[field] for field in RETENTION_FIELDS}
        problem = identifier_error(tenant_id, "tenant id")
        if problem:
            raise CommandError(problem)
        if rate is None:
            rate = settings.INGEST_DEFAULT_RATE_PER_MINUTE
        if rate < 0:
            raise CommandError("--rate must be zero or more logs per minute.")
        check_key_name(key_name)
        with transaction.atomic():
            if Tenant.objects.filter(pk=tenant_id).exists():
                raise CommandError(
                    f"Tenant {tenant_id!r} already exists; use create_api_key for another key."
                )
            tenant = Tenant.objects.create(id=tenant_id, name=name, rate_limit_per_minute=rate, **retention)
            _, key = TenantAPIKey.objects.create_key(name=key_name, tenant=tenant)
        self.stdout.write(
            f"Created tenant {tenant.id!r} (rate {rate} logs per minute; logs kept "
            f"{_days(tenant.retention_days)}, original text {_original(tenant.original_text_retention_days)})."
        )
        self.stdout.write("Its API key follows; it is shown only this once:")
        self.stdout.write(key)


def _days(days: int | None) -> str:
    return "without limit" if days is None else f"{days} day(s)"


def _original(days: int | None) -> str:
    if days == 0:
        return "never stored"
    return "kept as long as the log" if days is None else f"kept {days} day(s)"
