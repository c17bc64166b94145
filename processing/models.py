"""The database queue's table."""

import uuid

from django.db import models


class QueueMessage(models.Model):
    """One message on the embedded queue.

    ``available_at`` is both the delay (a nacked message waits for it) and the
    lease: a claimed message gets ``available_at = now + lease``, so a worker that
    dies simply lets the time pass and the message becomes claimable again.
    Each claim sets a new ``lease_token``; ack, nack and lease extension only act
    while the token still matches, so a worker whose lease ran out cannot touch a
    message that was handed to someone else meanwhile.

    Dead-lettered rows stay (``state = dead``) until the log is replayed; the
    copied ``tenant_id`` / ``log_id`` let a replay find and drop them.
    """

    STATE_READY = "ready"
    STATE_DEAD = "dead"
    STATE_CHOICES = [(STATE_READY, "ready"), (STATE_DEAD, "dead-lettered")]

    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.TextField()
    state = models.CharField(max_length=8, choices=STATE_CHOICES, default=STATE_READY)
    available_at = models.DateTimeField(db_index=False)
    lease_token = models.UUIDField(null=True, blank=True)
    delivery_attempts = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField()
    tenant_id = models.CharField(max_length=128, blank=True)
    log_id = models.CharField(max_length=128, blank=True)
    dead_lettered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "available_at"], name="queue_message_claimable"),
            # Claims take tenants in turns (the tenants waiting: one seek each; a
            # tenant's oldest claimable: one range), and a tenant's depth is counted
            # from this index alone.
            models.Index(fields=["state", "tenant_id", "available_at", "id"], name="queue_message_by_tenant"),
        ]

    def __str__(self) -> str:
        return str(self.message_id)
