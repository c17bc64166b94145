"""The data lifecycle on any log store: the retention sweep and bulk erasure, in batches.

``sweep`` is what ``manage.py expire_logs`` (and ``run_worker``, periodically) runs:
delete expired records, blank expired original text, correct counters that drifted
(Firestore's TTL deletions). ``erase`` is what ``manage.py erase_logs``, the
console's erase action and deleting a tenant run. Both work in batches, each one
committed on its own, so they never hold the store for long, can run while the
worker writes, and a run that was killed is finished by running it again (what is
done stays done; what is left is found again). ``record_erasure`` writes the
admin's history entry (who, which range, how many).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from tenants.models import Tenant
from tenants.stores import BaseLogStore, StoreUnavailable
from tenants.stores.base import LIFECYCLE_BATCH

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def utc_now() -> datetime:
    """The sweep's clock (tests replace it by module path)."""
    return timezone.now()


def _quiet(message: str) -> None:
    """The default progress callback: nothing is shown."""


@dataclass
class SweepReport:
    """What one sweep did."""

    now: datetime
    deleted: int = 0
    cleared: int = 0
    recounted: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self) -> str:
        corrected = f", corrected the counts of {len(self.recounted)} tenant(s)" if self.recounted else ""
        return (
            f"Retention sweep at {self.now:%Y-%m-%d %H:%M:%S} UTC: deleted {self.deleted} expired "
            f"record(s), cleared the original text of {self.cleared}{corrected}."
        )


def sweep(
    store: BaseLogStore,
    *,
    now: datetime | None = None,
    batch_size: int = LIFECYCLE_BATCH,
    progress: Progress = _quiet,
) -> SweepReport:
    """Delete what expired by ``now``, then clear expired original text, then recount.

    Deleting first means a record that expired whole is deleted once rather than
    cleared and then deleted. Idempotent: a second sweep at the same moment finds
    nothing to do.
    """
    report = SweepReport(now=now or utc_now())
    while deleted := store.delete_expired(now=report.now, limit=batch_size):
        report.deleted += deleted
        progress(f"Deleted {deleted} expired record(s) ({report.deleted} so far).")
    while cleared := store.clear_expired_original_text(now=report.now, limit=batch_size):
        report.cleared += cleared
        progress(f"Cleared the original text of {cleared} record(s) ({report.cleared} so far).")
    report.recounted = store.recount()
    for tenant_id, deltas in report.recounted.items():
        changes = ", ".join(f"{status} {delta:+d}" for status, delta in sorted(deltas.items()))
        progress(f"Corrected the counts of {tenant_id}: {changes}.")
    logger.info(
        "retention sweep done",
        extra={"deleted": report.deleted, "cleared": report.cleared, "recounted": len(report.recounted)},
    )
    return report


def parse_moment(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 date-time (naive: UTC) or a date (its midnight, UTC); ValueError otherwise."""
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime(day.year, day.month, day.day)
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError(f"{value!r} is not a date-time such as 2026-11-30T12:00:00Z, nor a date")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def describe_range(received_after: datetime | None, received_before: datetime | None) -> str:
    """The received-at range of an erasure, in words (UTC)."""

    def moment(value: datetime) -> str:
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"

    if received_after and received_before:
        return f"received from {moment(received_after)} to before {moment(received_before)}"
    if received_after:
        return f"received from {moment(received_after)} on"
    if received_before:
        return f"received before {moment(received_before)}"
    return "all of them, whenever received"


class ErasureInterrupted(StoreUnavailable):
    """The store failed part way: ``erased`` records were erased (and stay so) before it did."""

    def __init__(self, erased: int, cause: StoreUnavailable) -> None:
        super().__init__(str(cause))
        self.erased = erased


def erase(
    store: BaseLogStore,
    tenant_id: str,
    *,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
    batch_size: int = LIFECYCLE_BATCH,
    max_records: int | None = None,
    pause_seconds: float = 0.0,
    progress: Progress = _quiet,
) -> tuple[int, bool]:
    """Erase the tenant's records in the range, batch by batch; returns (erased, finished).

    ``max_records`` stops after about that many (a console request must end within
    its timeout): ``finished`` is then False and another call goes on. A pause
    between batches leaves the store to the worker during a long erasure. A store
    failure raises ``ErasureInterrupted``, which says how many went before it.
    """
    erased = 0
    while max_records is None or erased < max_records:
        limit = batch_size if max_records is None else min(batch_size, max_records - erased)
        try:
            count = store.erase_logs(
                tenant_id, received_after=received_after, received_before=received_before, limit=limit
            )
        except StoreUnavailable as exc:
            raise ErasureInterrupted(erased, exc) from exc
        if not count:
            return erased, True
        erased += count
        progress(f"Erased {count} log(s) of {tenant_id} ({erased} so far).")
        if pause_seconds:
            time.sleep(pause_seconds)
    return erased, False


def record_erasure(
    user_id: int,
    tenant_id: str,
    *,
    received_after: datetime | None,
    received_before: datetime | None,
    erased: int,
    finished: bool,
    how: str,
) -> LogEntry:
    """The admin history entry of an erasure, on the tenant: who, which range, how many."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    remaining = "" if finished else " More remain: run it again to go on."
    return LogEntry.objects.create(
        user_id=user_id,
        content_type_id=ContentType.objects.get_for_model(Tenant).pk,
        object_id=tenant_id,
        object_repr=(str(tenant) if tenant is not None else tenant_id)[:200],
        action_flag=CHANGE,
        change_message=(
            f"Erased {erased} log(s) {describe_range(received_after, received_before)} ({how}).{remaining}"
        ),
    )


def erase_all_logs_of(tenant_id: str, store: BaseLogStore) -> int:
    """Every record of the tenant (deleting a tenant): to the end, however many batches."""
    erased, _ = erase(store, tenant_id)
    if erased:
        logger.info("logs of a deleted tenant erased", extra={"tenant_id": tenant_id, "erased": erased})
    return erased
