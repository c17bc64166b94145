"""Tenants, their API keys, and the database log store's table."""

import secrets

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from core.identifiers import IDENTIFIER_MAX_LENGTH
from core.records import STATUSES


def new_redaction_secret() -> str:
    return secrets.token_hex(32)


class Tenant(models.Model):
    """A customer whose logs are kept apart from everyone else's."""

    id = models.CharField(primary_key=True, max_length=IDENTIFIER_MAX_LENGTH)
    name = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True, help_text="Inactive tenants are refused at /ingest (403).")
    # Logs, not requests: every record of a batch counts. The default lets a shipper
    # send one full batch (INGEST_MAX_BATCH_LINES, 1,000) every second.
    rate_limit_per_minute = models.PositiveIntegerField(
        default=60_000, help_text="Logs per minute accepted at /ingest and /v1/logs before 429."
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=30,
        help_text="Days a processed log is kept after it was received; empty keeps it.",
    )
    original_text_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=7,
        help_text="Days the unredacted original text is kept; 0 never stores it; empty keeps it.",
    )
    # The key of the tenant's keyed-hash redaction tokens (HMAC-SHA256): equal values
    # give equal tokens within a tenant, unrelated ones across tenants. Never shown.
    redaction_secret = models.CharField(max_length=64, default=new_redaction_secret, editable=False)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_tenants",
        help_text="Staff users who may see this tenant in the console (superusers see every tenant).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        permissions = [("view_original_text", "Can view original, unredacted log text")]

    def __str__(self) -> str:
        return self.name or self.id


class TenantAPIKey(AbstractAPIKey):
    """An ingest key bound to one tenant; only its hash is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "tenant API key"
        verbose_name_plural = "tenant API keys"


class StoredLog(models.Model):
    """One processed (or failing) log in the database store: the same fields as the Firestore document."""

    STATUS_CHOICES = [(status, status.replace("_", " ")) for status in STATUSES]

    tenant_id = models.CharField(max_length=IDENTIFIER_MAX_LENGTH)
    log_id = models.CharField(max_length=IDENTIFIER_MAX_LENGTH)
    source = models.CharField(max_length=32)
    original_text = models.TextField()
    # None until processed: "not redacted yet" differs from an empty redaction.
    modified_data = models.TextField(null=True, blank=True)  # noqa: DJ001
    status = models.CharField(max_length=32, choices=STATUS_CHOICES)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    event_time = models.DateTimeField(null=True, blank=True)
    severity = models.CharField(max_length=32, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    findings = models.JSONField(default=dict, blank=True)
    policy_version = models.PositiveIntegerField(default=0)
    # The retention sweep (manage.py expire_logs) finds what is due through these.
    expires_at = models.DateTimeField(null=True, blank=True)
    original_text_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "log_id"], name="stored_log_unique_per_tenant")
        ]
        indexes = [
            models.Index(fields=["tenant_id", "-received_at", "-log_id"], name="stored_log_tenant_recent"),
            models.Index(
                fields=["tenant_id", "status", "-received_at", "-log_id"], name="stored_log_tenant_status"
            ),
            models.Index(fields=["received_at"], name="stored_log_received"),
            models.Index(fields=["expires_at"], name="stored_log_expires"),
            models.Index(fields=["original_text_expires_at"], name="stored_log_original_expires"),
        ]

    def __str__(self) -> str:
        return f"tenants/{self.tenant_id}/processed_logs/{self.log_id}"


class RedactionPolicy(models.Model):
    """One version of a tenant's redaction policy; the newest version is the one in force.

    ``spec`` is data (detectors, regions, replacements, allow-list, custom rules),
    validated before it is saved (``processing.redaction``); a change is a new row,
    so every stored log's ``policy_version`` names exactly what it was scrubbed with.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="redaction_policies")
    version = models.PositiveIntegerField()
    spec = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["tenant_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="redaction_policy_version_per_tenant")
        ]
        permissions = [("edit_redaction_policy", "Can change and test a tenant's redaction policy")]

    def __str__(self) -> str:
        return f"{self.tenant_id} redaction policy v{self.version}"
