"""Re-scrub: a tenant's current redaction policy applied to logs it already stored.

Each processed record in the range is scrubbed again from its original text, the way
the worker would scrub it now (``tenant_redaction.scrub_log``), and written with
``store.save_rescrubbed``: new redacted text, attributes, findings and policy version.
The store writes a record only while its ``policy_version`` is older than the one
applied, so every record changes once per version, however often a run is repeated
or interrupted:

- records already at the version (processed after the change, or re-scrubbed by an
  earlier run) are counted as current and not written;
- records whose original text was not kept (``original_text_retention_days`` 0) or
  has expired are skipped and counted: there is nothing to scrub them from;
- attributes are scrubbed from their stored (already redacted) values, since the
  original attributes are not kept: a re-scrub can redact more in them, never less;
- records not processed (retrying, dead-lettered) are left to the worker, which
  scrubs them with the policy in force when they succeed.

Records are walked newest first by the store's cursor; after each page the cursor
of the next one is reported (``progress``), so a run that stopped can go on from
there (``start_cursor``) instead of reading again what it already did. The policy is
read once, fresh from the database, when the run starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from processing.tenant_redaction import TenantRedactor, scrub_log, tenant_redactor
from tenants.stores import STATUS_PROCESSED, BaseLogStore, LogRecord, get_store

PAGE_SIZE = 100


@dataclass
class RescrubReport:
    """What one run did; ``next_cursor`` is where the rest starts when ``finished`` is False."""

    tenant_id: str
    policy_version: int
    examined: int = 0
    rescrubbed: int = 0
    current: int = 0
    not_processed: int = 0
    original_not_kept: int = 0
    original_expired: int = 0
    pages: int = 0
    next_cursor: str | None = None
    finished: bool = False

    @property
    def without_original(self) -> int:
        return self.original_not_kept + self.original_expired

    def summary(self) -> str:
        return (
            f"{self.examined} examined: {self.rescrubbed} re-scrubbed with policy version "
            f"{self.policy_version}, {self.current} already at it, {self.without_original} skipped "
            f"without original text ({self.original_not_kept} not kept, {self.original_expired} expired), "
            f"{self.not_processed} not processed yet"
        )


def original_text_gone(record: LogRecord, now: datetime) -> str | None:
    """Why a record's original text cannot be scrubbed again ("not kept", "expired"), or None."""
    if record.original_text_expires_at is not None and record.original_text_expires_at <= now:
        return "expired"
    if not record.original_text:
        return "not kept"
    return None


class Rescrubber:
    """Re-scrubs one tenant's records under the policy in force when it was built."""

    def __init__(self, tenant_id: str, *, store: BaseLogStore | None = None) -> None:
        self.tenant_id = tenant_id
        self.store = store or get_store()
        self.redactor: TenantRedactor = tenant_redactor(tenant_id, fresh=True)

    @property
    def policy_version(self) -> int:
        return self.redactor.version

    def run(
        self,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        start_cursor: str | None = None,
        limit: int | None = None,
        page_size: int = PAGE_SIZE,
        progress: Callable[[RescrubReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RescrubReport:
        """Walk the range (``received_after`` inclusive, ``received_before`` exclusive).

        Stops after about ``limit`` examined records (whole pages) or when
        ``should_stop()`` says so between pages; ``next_cursor`` then says where to go
        on. ``StoreUnavailable`` and a foreign cursor (``ValueError``) propagate.
        """
        report = RescrubReport(self.tenant_id, self.policy_version, next_cursor=start_cursor)
        cursor = start_cursor
        while True:
            if (should_stop is not None and should_stop()) or (
                limit is not None and report.examined >= limit
            ):
                report.next_cursor = cursor
                return report
            page = self.store.list_logs(
                self.tenant_id,
                received_after=received_after,
                received_before=received_before,
                limit=page_size,
                cursor=cursor,
            )
            now = timezone.now()
            for record in page.records:
                self._rescrub_one(record, report, now)
            report.pages += 1
            cursor = page.next_cursor
            report.next_cursor = cursor
            if cursor is None:
                report.finished = True
            if progress is not None:
                progress(report)
            if cursor is None:
                return report

    def _rescrub_one(self, record: LogRecord, report: RescrubReport, now: datetime) -> None:
        report.examined += 1
        if record.status != STATUS_PROCESSED:
            report.not_processed += 1
            return
        if record.policy_version >= self.policy_version:
            report.current += 1
            return
        gone = original_text_gone(record, now)
        if gone == "expired":
            report.original_expired += 1
            return
        if gone == "not kept":
            report.original_not_kept += 1
            return
        scrubbed = scrub_log(self.redactor, record.original_text, record.attributes)
        changed = self.store.save_rescrubbed(
            record.tenant_id,
            record.log_id,
            modified_data=scrubbed.text,
            attributes=scrubbed.attributes,
            findings=scrubbed.findings,
            policy_version=scrubbed.policy_version,
        )
        if changed:
            report.rescrubbed += 1
        else:  # re-scrubbed by another run meanwhile
            report.current += 1
