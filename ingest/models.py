"""What the intake keeps about itself: the recent rejections of each tenant, counted, never their text."""

from django.db import models

from core.identifiers import IDENTIFIER_MAX_LENGTH


class IntakeRejection(models.Model):
    """How many records of one tenant were rejected for one reason within one hour.

    One row per (tenant, source, reason, hour), incremented in place, so the table
    grows with the kinds of mistakes, not with their number, and rows older than
    ``ingest.rejections.KEEP_DAYS`` are deleted as new ones are made. Only the
    reason code is kept: never the record, its text or its detail.
    """

    tenant_id = models.CharField(max_length=IDENTIFIER_MAX_LENGTH)
    # How the records came: json_upload (/ingest JSON and NDJSON), text_upload, otlp (/v1/logs).
    source = models.CharField(max_length=32)
    # One of ingest.formats.records.RECORD_ERROR_CODES.
    reason = models.CharField(max_length=32)
    hour = models.DateTimeField(help_text="The start of the hour (UTC) these rejections fell in.")
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = "intake rejection"
        verbose_name_plural = "intake rejections"
        ordering = ["-hour", "tenant_id", "reason"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "source", "reason", "hour"], name="intake_rejection_one_row_per_hour"
            )
        ]
        indexes = [
            models.Index(fields=["tenant_id", "-hour"], name="intake_rejection_tenant"),
            models.Index(fields=["hour"], name="intake_rejection_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.count} x {self.reason} ({self.source}, {self.hour:%Y-%m-%d %H:00})"
