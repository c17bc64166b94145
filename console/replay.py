"""Putting logs back on the queue from the console, and recording who did it.

A replay is ``store.mark_replayed`` (status ``retrying``, attempts back to 0) then
``queue.replay(record.to_envelope())``, in that order: if the queue is down after
the store was marked, the log shows as retrying and can be replayed again, while
the reverse order could leave a queued message for a record still marked dead.
Each replay is written to the admin's action history (``LogEntry``) against the
tenant, naming the log.

A replay sends the stored original text, so a record without one (its tenant
stores none, or it expired) is refused with the reason: the queue's dead-letter
copy is not used instead, since bringing back text the tenant chose not to keep
would defeat the retention (docs/lifecycle.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType

from console.forms import LogRef
from processing.queues import BaseQueue, QueueUnavailable, get_queue
from tenants.models import Tenant
from tenants.stores import (
    STATUS_DEAD_LETTERED,
    STATUS_RETRYING,
    BaseLogStore,
    LogRecord,
    StoreUnavailable,
    get_store,
)

logger = logging.getLogger(__name__)

REPLAYABLE_STATUSES = (STATUS_DEAD_LETTERED, STATUS_RETRYING)
# "Replay all" works through a tenant's dead letters in pages this size, and stops
# after REPLAY_ALL_LIMIT per request so one click cannot outlive the request timeout.
REPLAY_PAGE_SIZE = 100
REPLAY_ALL_LIMIT = 500


def replay_refusal(record: LogRecord) -> str:
    """Why a dead-lettered or retrying record cannot be replayed ("" when it can, or is not one)."""
    if record.status not in REPLAYABLE_STATUSES or record.original_text:
        return ""
    return (
        "its original text is not kept (its tenant stores none, or it expired), and a replay needs it; "
        "ask the client to send the log again"
    )


def is_replayable(record: LogRecord) -> bool:
    return record.status in REPLAYABLE_STATUSES and not replay_refusal(record)


@dataclass
class ReplayReport:
    """What one replay request did, for the message shown after the redirect."""

    replayed: list[LogRecord] = field(default_factory=list)
    not_replayable: list[LogRef] = field(default_factory=list)
    missing: list[LogRef] = field(default_factory=list)
    # Dead-lettered or retrying, but without original text to replay (expired or never stored).
    without_text: list[LogRef] = field(default_factory=list)
    error: str = ""
    # "Replay all" only: dead letters left for another round.
    more_remaining: bool = False


class Replayer:
    """Replays records for one user and writes one ``LogEntry`` per replayed log."""

    def __init__(
        self,
        user: AbstractBaseUser,
        *,
        store: BaseLogStore | None = None,
        queue: BaseQueue | None = None,
    ) -> None:
        self.user = user
        self.store = store or get_store()
        self.queue = queue or get_queue()

    def replay_refs(self, refs: Iterable[LogRef]) -> ReplayReport:
        """Replay each named log that is dead-lettered or retrying; report the others."""
        report = ReplayReport()
        try:
            for ref in refs:
                record = self.store.get(ref.tenant_id, ref.log_id)
                if record is None:
                    report.missing.append(ref)
                elif replay_refusal(record):
                    report.without_text.append(ref)
                elif not is_replayable(record):
                    report.not_replayable.append(ref)
                else:
                    self._replay(record)
                    report.replayed.append(record)
        except (StoreUnavailable, QueueUnavailable) as exc:
            report.error = str(exc)
            logger.warning("replay stopped: %s", exc, extra={"user_id": self.user.pk})
        finally:
            self._record(report.replayed)
        return report

    def replay_all_dead_letters(self, tenant_id: str, *, limit: int | None = None) -> ReplayReport:
        """Replay up to ``limit`` (default REPLAY_ALL_LIMIT) of the tenant's dead letters, newest first."""
        limit = REPLAY_ALL_LIMIT if limit is None else limit
        report = ReplayReport()
        cursor = None
        try:
            # Dead letters without original text are looked at too: they count towards the bound.
            while (examined := len(report.replayed) + len(report.without_text)) < limit:
                page = self.store.list_logs(
                    tenant_id,
                    status=STATUS_DEAD_LETTERED,
                    limit=min(REPLAY_PAGE_SIZE, limit - examined),
                    cursor=cursor,
                )
                for record in page.records:
                    if replay_refusal(record):
                        report.without_text.append(LogRef(record.tenant_id, record.log_id))
                        continue
                    self._replay(record)
                    report.replayed.append(record)
                cursor = page.next_cursor
                if cursor is None:
                    break
            report.more_remaining = cursor is not None
        except (StoreUnavailable, QueueUnavailable) as exc:
            report.error = str(exc)
            logger.warning(
                "replay-all stopped: %s", exc, extra={"tenant_id": tenant_id, "user_id": self.user.pk}
            )
        finally:
            self._record(report.replayed)
        return report

    def _replay(self, record: LogRecord) -> None:
        self.store.mark_replayed(record.tenant_id, record.log_id)
        message_id = self.queue.replay(record.to_envelope())
        logger.info(
            "log replayed from the console",
            extra={
                "tenant_id": record.tenant_id,
                "log_id": record.log_id,
                "message_id": message_id,
                "previous_status": record.status,
                "user_id": self.user.pk,
            },
        )

    def _record(self, records: list[LogRecord]) -> None:
        """One admin history entry per replayed log, on its tenant, in one INSERT."""
        if not records:
            return
        content_type = ContentType.objects.get_for_model(Tenant)
        tenant_ids = {record.tenant_id for record in records}
        names = {tenant.id: str(tenant) for tenant in Tenant.objects.filter(id__in=tenant_ids)}
        LogEntry.objects.bulk_create(
            [
                LogEntry(
                    user_id=self.user.pk,
                    content_type_id=content_type.pk,
                    object_id=record.tenant_id,
                    object_repr=names.get(record.tenant_id, record.tenant_id)[:200],
                    action_flag=CHANGE,
                    change_message=(
                        f"Replayed log {record.log_id} "
                        f"(was {record.status.replace('_', ' ')} after {record.attempts} attempts)."
                    ),
                )
                for record in records
            ]
        )
