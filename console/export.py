"""The console's download of a filtered log list: NDJSON, as the read API's export.

The same fields as ``GET /logs/{log_id}`` (a test holds the two to it), plus
``original_text`` when the user asked for it and holds ``tenants.view_original_text``
(who then also gets the attributes of a log not processed yet, as in the log detail).
Records come page by page (``iter_logs``, or the search's own pages), so a large
download never sits in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from core.records import LogRecord
from tenants.stores import BaseLogStore

# The read API's fields (logs_api.serializers.LogRecordSerializer), in its order.
EXPORT_FIELDS = (
    "tenant_id",
    "log_id",
    "source",
    "status",
    "modified_data",
    "attempts",
    "last_error",
    "received_at",
    "processed_at",
    "message_id",
    "request_id",
    "event_time",
    "severity",
    "attributes",
)
DATETIME_FIELDS = {"received_at", "processed_at", "event_time"}
LINES_PER_CHUNK = 200
SEARCH_PAGE_SIZE = 500


def _moment(value: datetime | None) -> str | None:
    """As DRF writes a date-time: ISO 8601 in UTC, with "Z"."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def export_line(record: LogRecord, *, include_original: bool = False) -> dict:
    line = {}
    for name in EXPORT_FIELDS:
        value = getattr(record, name)
        line[name] = _moment(value) if name in DATETIME_FIELDS else value
    if record.modified_data is None and not include_original:
        # Not redacted yet: like the read API, the attributes the client sent stay hidden.
        line["attributes"] = {}
    if include_original:
        line["original_text"] = record.original_text
    return line


def ndjson_chunks(records: Iterable[LogRecord], *, include_original: bool = False) -> Iterator[bytes]:
    lines: list[str] = []
    for record in records:
        lines.append(
            json.dumps(
                export_line(record, include_original=include_original),
                ensure_ascii=False,
                separators=(",", ":"),
            )
        )
        if len(lines) >= LINES_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def started(records: Iterator[LogRecord]) -> Iterator[LogRecord]:
    """``records`` with its first page read now: a store outage is the console's 503 page, not a cut file."""
    try:
        first = next(records)
    except StopIteration:
        return iter(())
    return chain([first], records)


def iter_search(store: BaseLogStore, tenant_id: str, text: str, **filters) -> Iterator[LogRecord]:
    """Every record a text search finds, page after page (a bounded backend scans its window in steps)."""
    cursor = None
    while True:
        page = store.search_logs(tenant_id, text, limit=SEARCH_PAGE_SIZE, cursor=cursor, **filters)
        yield from page.records
        cursor = page.next_cursor
        if cursor is None:
            return
