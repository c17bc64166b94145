"""How long a tenant's records and their original text are kept, as a record's expiry timestamps.

Both count from when the log was received: ``retention_days`` for the record (None:
kept), ``original_text_retention_days`` for the unredacted text (None: kept with
the record; 0: never stored at all). The worker stamps every record it writes with
them; ``manage.py expire_logs`` (and Firestore's TTL policy on ``expires_at``)
removes what is due. An original text already past its expiry when the record is
written (a backlog worked off late, a retry after the sweep cleared it) is not
stored at all. A tenant unknown to the registry keeps everything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from core.records import KEEP_FOREVER, Retention
from tenants.auth import tenant_policy


def retention_of(
    retention_days: int | None,
    original_text_retention_days: int | None,
    received_at: datetime,
    now: datetime | None = None,
) -> Retention:
    expires_at = received_at + timedelta(days=retention_days) if retention_days is not None else None
    if original_text_retention_days == 0:
        return Retention(expires_at=expires_at, original_text_expires_at=None, keep_original=False)
    original_expires_at = (
        received_at + timedelta(days=original_text_retention_days)
        if original_text_retention_days is not None
        else expires_at
    )
    if expires_at is not None and original_expires_at is not None:
        original_expires_at = min(original_expires_at, expires_at)
    if now is not None and original_expires_at is not None and original_expires_at <= now:
        return Retention(expires_at=expires_at, original_text_expires_at=None, keep_original=False)
    return Retention(expires_at=expires_at, original_text_expires_at=original_expires_at)


def retention_for(tenant_id: str, received_at: datetime) -> Retention:
    """The tenant's retention for a log received at ``received_at`` (from the cached tenant policy)."""
    policy = tenant_policy(tenant_id, remember_unknown=True)
    if policy is None:
        return KEEP_FOREVER
    return retention_of(
        policy.retention_days, policy.original_text_retention_days, received_at, now=timezone.now()
    )
