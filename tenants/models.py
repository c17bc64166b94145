"""Tenants, their API keys, and the database log store's table."""

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from core.identifiers import IDENTIFIER_MAX_LENGTH
from core.records import STATUSES


class Tenant(models.Model):
    """A customer whose logs are kept apart from everyone else's."""

    id = models.CharField(primary_key=True, max_length=IDENTIFIER_MAX_LENGTH)
    name = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True, help_text="Inactive tenants are refused at /ingest (403).")
    rate_limit_per_minute = models.PositiveIntegerField(
        default=6000, help_text="Requests per minute accepted at /ingest before 429."
    )
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
        ]

    def __str__(self) -> str:
        return f"tenants/{self.tenant_id}/processed_logs/{self.log_id}"
