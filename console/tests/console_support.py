"""Shared set-up for the console tests: named users, two tenants, and records written through the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope
from processing.queues import BaseQueue, QueueStats, QueueUnavailable
from tenants.models import Tenant
from tenants.stores import get_store

PASSWORD = "console-test-password"
BASE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Users:
    """The people every permission test talks about."""

    def __init__(self, acme: Tenant, globex: Tenant) -> None:
        self.superuser = User.objects.create_superuser("root", "root@example.com", PASSWORD)
        self.acme_staff = User.objects.create_user("acme-staff", password=PASSWORD, is_staff=True)
        self.globex_staff = User.objects.create_user("globex-staff", password=PASSWORD, is_staff=True)
        self.unassigned_staff = User.objects.create_user("idle-staff", password=PASSWORD, is_staff=True)
        self.acme_reader = User.objects.create_user("acme-reader", password=PASSWORD, is_staff=True)
        self.customer = User.objects.create_user("customer", password=PASSWORD)
        self.inactive_staff = User.objects.create_user(
            "gone-staff", password=PASSWORD, is_staff=True, is_active=False
        )
        acme.staff.add(self.acme_staff, self.acme_reader, self.inactive_staff)
        globex.staff.add(self.globex_staff)
        self.acme_reader.user_permissions.add(Permission.objects.get(codename="view_original_text"))


def envelope(tenant_id: str, log_id: str, *, minutes_ago: float = 0, text: str | None = None) -> LogEnvelope:
    return LogEnvelope(
        tenant_id=tenant_id,
        log_id=log_id,
        source=SOURCE_JSON if len(log_id) % 2 else SOURCE_TEXT,
        text=text if text is not None else f"User 555-0199 did thing {log_id}",
        received_at=(BASE_TIME - timedelta(minutes=minutes_ago)).isoformat(),
        request_id=f"req-{log_id}",
    )


def add_processed(
    tenant_id: str, log_id: str, *, minutes_ago: float = 0, text: str | None = None
) -> LogEnvelope:
    log = envelope(tenant_id, log_id, minutes_ago=minutes_ago, text=text)
    get_store().save_result(
        log,
        modified_data=log.text.replace("555-0199", "[REDACTED]"),
        message_id=f"msg-{log_id}",
        processed_at=BASE_TIME - timedelta(minutes=minutes_ago) + timedelta(seconds=5),
    )
    return log


def add_retrying(tenant_id: str, log_id: str, *, minutes_ago: float = 0, error: str = "boom") -> LogEnvelope:
    log = envelope(tenant_id, log_id, minutes_ago=minutes_ago)
    get_store().record_failure(log, error=error, message_id=f"msg-{log_id}")
    return log


def add_dead_letter(tenant_id: str, log_id: str, *, minutes_ago: float = 0, attempts: int = 3) -> LogEnvelope:
    log = envelope(tenant_id, log_id, minutes_ago=minutes_ago)
    for attempt in range(attempts):
        get_store().record_failure(log, error=f"failure {attempt + 1}", message_id=f"msg-{log_id}")
    get_store().mark_dead_lettered(tenant_id, log_id)
    return log


def console_url(name: str, *args: str) -> str:
    return reverse(f"admin:console_{name}", args=args)


class RecordingQueue(BaseQueue):
    """A queue that only remembers what was replayed to it (what the console writes)."""

    replayed: ClassVar[list[LogEnvelope]] = []
    fail_after: ClassVar[int | None] = None

    def publish(self, envelope: LogEnvelope) -> str:
        if self.fail_after is not None and len(self.replayed) >= self.fail_after:
            raise QueueUnavailable("broker down (test)")
        self.replayed.append(envelope)
        return f"replayed-{len(self.replayed)}"

    def stats(self) -> QueueStats:
        return QueueStats(depth=len(self.replayed), oldest_age_seconds=75.0, dead_lettered=None)


class ConsoleTest:
    """Base for console tests: tenants acme and globex, the named users, and a recording queue."""

    @pytest.fixture(autouse=True)
    def console_setup(self, db, settings, client) -> None:
        self.acme = Tenant.objects.create(id="acme", name="Acme Corp")
        self.globex = Tenant.objects.create(id="globex", name="Globex")
        self.users = Users(self.acme, self.globex)
        self.client = client
        RecordingQueue.replayed = []
        RecordingQueue.fail_after = None
        settings.QUEUE_BACKEND = "console.tests.console_support.RecordingQueue"
        self.queue = RecordingQueue
