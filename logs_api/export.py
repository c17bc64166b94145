"""``GET /logs?format=ndjson`` (or ``Accept: application/x-ndjson``): every matching log, streamed.

One JSON object per line, the read API's fields (redacted text only), newest
first, unpaginated. The records come from ``store.iter_logs``, which reads the
store a page at a time, and each page is sent before the next is read: memory
stays at one page whatever the export's size. The first page is read before the
response starts, so a store outage is still a 503; one that strikes later aborts
the response (the chunked body never gets its terminating chunk), so a client
never mistakes a cut export for a whole one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from itertools import chain

from django.http import StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.settings import api_settings

from core.errors import InvalidRequest
from core.records import LogRecord
from logs_api.serializers import LogRecordSerializer
from tenants.stores.base import EXPORT_PAGE_SIZE

logger = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
FORMATS = ("json", "ndjson")
# Records read from the store at a time, and written to the socket at a time.
PAGE_SIZE = EXPORT_PAGE_SIZE
LINES_PER_CHUNK = 200


def wants_ndjson(request: Request) -> bool:
    """``?format=ndjson`` (DRF's format override parameter), else an Accept that prefers NDJSON.

    ``?format=json`` wins over any Accept; an Accept naming neither is answered
    with JSON (the API never answers 406).
    """
    requested = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
    if requested:
        if requested not in FORMATS:
            raise InvalidRequest(f"format must be one of {', '.join(FORMATS)}.")
        return requested == "ndjson"
    preference: dict[str, float] = {}
    for position, item in enumerate(request.META.get("HTTP_ACCEPT", "").split(",")):
        media_type, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # Equal qualities: the earlier one wins.
        preference.setdefault(media_type.lower(), quality - position * 1e-6)
    ndjson = preference.get(NDJSON, 0.0)
    return ndjson > 0 and ndjson >= max(preference.get("application/json", 0.0), 0.0)


def ndjson_lines(records: Iterable[LogRecord]) -> Iterator[bytes]:
    """The records as NDJSON, a chunk of lines at a time.

    One serializer for every record: building one per record (DRF deep-copies its
    fields each time) cost twenty times the rest of the export.
    """
    serializer = LogRecordSerializer()
    lines: list[str] = []
    for record in records:
        line = serializer.to_representation(record)
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
        if len(lines) >= LINES_PER_CHUNK:
            yield ("\n".join(lines) + "\n").encode()
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def _logged(chunks: Iterator[bytes], tenant_id: str) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in chunks:
            sent += chunk.count(b"\n")
            yield chunk
    except Exception:
        logger.warning("export aborted mid-stream", extra={"tenant_id": tenant_id, "records_sent": sent})
        raise
    logger.info("export streamed", extra={"tenant_id": tenant_id, "records_sent": sent})


def streaming_export(records: Iterator[LogRecord], tenant_id: str) -> StreamingHttpResponse:
    """The response; ``records`` has been started (its first page read) by the caller."""
    response = StreamingHttpResponse(_logged(ndjson_lines(records), tenant_id), content_type=NDJSON)
    response["Cache-Control"] = "no-store"
    return response


def started(records: Iterator[LogRecord]) -> Iterator[LogRecord]:
    """``records`` with its first item already read: the first page's errors surface here and now."""
    try:
        first = next(records)
    except StopIteration:
        return iter(())
    return chain([first], records)
