"""The database store's data lifecycle: the retention sweep, erasure, export and search.

A mixin of ``DatabaseLogStore`` (it uses the store's ``_objects()`` and database
alias). On PostgreSQL the search is served by a pg_trgm index (migration
tenants/0004); on SQLite it scans (docs/lifecycle.md).
"""

from __future__ import annotations

import logging
from datetime import datetime

from tenants.stores.base import LIFECYCLE_BATCH, SearchPage
from tenants.stores.database_rows import (
    newest_first_page,
    unavailable_as_store_error,
)

logger = logging.getLogger(__name__)


class DatabaseLifecycle:
    """Sweeps, erasure, export and search over the ``StoredLog`` table."""

    # -- data lifecycle: retention sweep, erasure, export, search ---------------------
    # Counts, the tenant list and activity are computed from the rows, so they follow
    # every deletion by themselves. Each batch is one short transaction: the worker's
    # writes interleave with a long sweep or erasure instead of waiting for it.

    def _delete_ids(self, rows, limit: int) -> int:
        """Delete the first ``limit`` rows of ``rows`` (two statements: ids, then DELETE)."""
        ids = list(rows.values_list("id", flat=True)[: max(0, int(limit))])
        if not ids:
            return 0
        deleted, _ = self._objects().filter(id__in=ids).delete()
        return deleted

    @unavailable_as_store_error
    def delete_expired(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        """Oldest expiry first, on the ``expires_at`` index."""
        rows = self._objects().filter(expires_at__lte=now).order_by("expires_at")
        return self._delete_ids(rows, limit)

    @unavailable_as_store_error
    def clear_expired_original_text(self, *, now: datetime, limit: int = LIFECYCLE_BATCH) -> int:
        """On the ``original_text_expires_at`` index; cleared rows leave it (the expiry becomes NULL)."""
        ids = list(
            self._objects()
            .filter(original_text_expires_at__lte=now)
            .order_by("original_text_expires_at")
            .values_list("id", flat=True)[: max(0, int(limit))]
        )
        if not ids:
            return 0
        # The condition again: a row whose expiry a write moved meanwhile is left alone.
        return (
            self._objects()
            .filter(id__in=ids, original_text_expires_at__lte=now)
            .update(original_text="", original_text_expires_at=None)
        )

    @unavailable_as_store_error
    def delete_log(self, tenant_id: str, log_id: str) -> bool:
        deleted, _ = self._rows(tenant_id, log_id).delete()
        return deleted > 0

    @unavailable_as_store_error
    def erase_logs(
        self,
        tenant_id: str,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = LIFECYCLE_BATCH,
    ) -> int:
        """Oldest first, on the (tenant_id, received_at) index."""
        rows = self._objects().filter(tenant_id=tenant_id)
        if received_after is not None:
            rows = rows.filter(received_at__gte=received_after)
        if received_before is not None:
            rows = rows.filter(received_at__lt=received_before)
        return self._delete_ids(rows.order_by("received_at", "log_id"), limit)

    @unavailable_as_store_error
    def search_logs(
        self,
        tenant_id: str,
        text: str,
        *,
        status: str | None = None,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SearchPage:
        """``list_logs`` plus ``UPPER(modified_data) LIKE UPPER('%text%')`` (``icontains``).

        PostgreSQL answers it from the trigram index on ``UPPER(modified_data)``
        (migration 0004) for a text of three characters or more; SQLite scans the
        tenant's rows, and folds the case of ASCII letters only.
        """
        records, next_cursor = newest_first_page(
            self.search_query(tenant_id, text),
            status=status,
            received_after=received_after,
            received_before=received_before,
            limit=limit,
            cursor=cursor,
        )
        return SearchPage(records=records, next_cursor=next_cursor)

    def search_query(self, tenant_id: str, text: str):
        """The tenant's rows whose redacted text contains ``text``, newest first (EXPLAINed in a test)."""
        return (
            self._objects()
            .filter(tenant_id=tenant_id, modified_data__icontains=text)
            .order_by("-received_at", "-log_id")
        )
