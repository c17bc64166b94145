"""The database store's rows: a record's columns, the error mapping, the write helpers.

Shared by ``tenants.stores.database`` (the record's writes and reads) and
``tenants.stores.database_lifecycle`` (sweeps, erasure, export, search).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
)
from django.db.models import Q, QuerySet

from core.cursors import decode_cursor, encode_cursor, parse_received_at
from core.envelope import LogEnvelope
from core.records import (
    STATUSES,
    LogRecord,
    Retention,
    event_time_of,
)
from tenants.models import StoredLog
from tenants.stores.base import StoreUnavailable

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
# An insert that loses a race with another worker's insert is retried as an update;
# more rounds than this would mean the row keeps vanishing, which nothing here does.
MAX_WRITE_ROUNDS = 5

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_as_store_error(method: Callable[P, R]) -> Callable[P, R]:
    """Turn "cannot reach the database" errors into StoreUnavailable.

    A broken connection is also closed (when no transaction is open) so the next
    call in this thread opens a fresh one instead of failing forever.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            close_if_broken(args[0].using)  # type: ignore[attr-defined]
            raise StoreUnavailable(f"log store database unavailable: {exc}") from exc

    return wrapper


def close_if_broken(using: str) -> None:
    connection = connections[using]
    if connection.in_atomic_block:
        return  # the caller's transaction owns the connection
    try:
        connection.close_if_unusable_or_obsolete()
    except DatabaseError:
        logger.debug("closing a broken database connection failed", exc_info=True)


def bounded(value: str, field_name: str) -> str:
    """Cut a value to its column's length: PostgreSQL would refuse the whole write."""
    return value[: StoredLog._meta.get_field(field_name).max_length]


def record_of(row: StoredLog) -> LogRecord:
    return LogRecord(
        tenant_id=row.tenant_id,
        log_id=row.log_id,
        source=row.source,
        original_text=row.original_text,
        modified_data=row.modified_data,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        received_at=row.received_at,
        processed_at=row.processed_at,
        message_id=row.message_id,
        request_id=row.request_id,
        updated_at=row.updated_at,
        event_time=row.event_time,
        severity=row.severity,
        attributes=row.attributes or {},
        findings=row.findings or {},
        policy_version=row.policy_version,
        expires_at=row.expires_at,
        original_text_expires_at=row.original_text_expires_at,
    )


def new_row_fields(envelope: LogEnvelope, retention: Retention) -> dict:
    """What a record takes from its envelope when it is first written."""
    return {
        "tenant_id": envelope.tenant_id,
        "log_id": envelope.log_id,
        "source": bounded(envelope.source, "source"),
        "original_text": envelope.text if retention.keep_original else "",
        "received_at": parse_received_at(envelope.received_at),
        "request_id": bounded(envelope.request_id, "request_id"),
        "event_time": event_time_of(envelope),
        "severity": bounded(envelope.severity, "severity"),
        "attributes": dict(envelope.attributes),
        "expires_at": retention.expires_at,
        "original_text_expires_at": retention.original_text_expires_at if retention.keep_original else None,
    }


def newest_first_page(
    rows: QuerySet,
    *,
    status: str | None,
    received_after: datetime | None,
    received_before: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[LogRecord], str | None]:
    """One page of ``rows`` under the read API's filters, newest first, and the next page's cursor.

    Keyset pagination on ``(received_at, log_id)``: ``received_after`` is inclusive,
    ``received_before`` exclusive. A ``cursor`` this store did not issue raises
    ValueError; an unknown ``status`` too. ``list_logs`` and ``search_logs`` page alike.
    """
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    if status is not None:
        rows = rows.filter(status=status)
    if received_after is not None:
        rows = rows.filter(received_at__gte=received_after)
    if received_before is not None:
        rows = rows.filter(received_at__lt=received_before)
    if cursor:
        last_received_at, last_log_id = decode_cursor(cursor)
        rows = rows.filter(
            Q(received_at__lt=last_received_at) | Q(received_at=last_received_at, log_id__lt=last_log_id)
        )
    page = list(rows.order_by("-received_at", "-log_id")[: limit + 1])
    records = [record_of(row) for row in page[:limit]]
    next_cursor = None
    if len(page) > limit:
        next_cursor = encode_cursor(records[-1].received_at, records[-1].log_id)
    return records, next_cursor
