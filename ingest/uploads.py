"""An intake request's body into records: its media type, its bytes (decoded, bounded), then a ``ParsedBatch``.

The parsing itself is the format layer's (``ingest.formats``); this module
picks the parser by route and Content-Type and adds what only the request
knows: ``text/plain`` takes its log id from ``X-Log-ID``, a chunked upload is
read from ``wsgi.input``. Bodies are never read through Django's
``request.body``: ``compression.read_body`` reads them within
``INGEST_MAX_BODY_BYTES`` on the wire and ``INGEST_MAX_DECOMPRESSED_BYTES``
decoded, whatever the headers say.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import parse_header_parameters

from core.errors import InvalidRequest, UnsupportedMediaType
from core.identifiers import identifier_error
from ingest.formats import batch as batch_format
from ingest.formats import compression, otlp
from ingest.formats.fields import check_text
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import IntakeRecord, ParsedBatch, RecordError, RecordInvalid

MEDIA_JSON = batch_format.MEDIA_JSON
MEDIA_NDJSON = batch_format.MEDIA_NDJSON
MEDIA_TEXT = "text/plain"
MEDIA_PROTOBUF = otlp.MEDIA_PROTOBUF
INGEST_MEDIA_TYPES = (MEDIA_JSON, MEDIA_TEXT, MEDIA_NDJSON)
OTLP_MEDIA_TYPES = otlp.MEDIA_TYPES
# Binary protobuf has no charset; JSON is UTF-8 by definition (RFC 8259) and text must
# be too; ASCII is a subset.
ACCEPTED_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_BOM = "\ufeff"


def media_type_of(request: HttpRequest, accepted: tuple[str, ...] = INGEST_MEDIA_TYPES) -> str:
    """The request's media type (lower case), or 415 when missing, not ``accepted`` or not UTF-8."""
    media_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
    if not media_type:
        raise UnsupportedMediaType(f"A Content-Type header is required: one of {', '.join(accepted)}.")
    if media_type not in accepted:
        raise UnsupportedMediaType(
            f"Content-Type {media_type!r} is not accepted; use one of {', '.join(accepted)}."
        )
    charset = params.get("charset")
    if charset is not None and charset.lower() not in ACCEPTED_CHARSETS:
        raise UnsupportedMediaType(f"charset {charset!r} is not accepted; send UTF-8.")
    return media_type


def check_content_encoding(request: HttpRequest) -> None:
    """415 for a Content-Encoding the intake cannot decode, before anything is read."""
    compression.content_encoding(request.META.get("HTTP_CONTENT_ENCODING"))


def read_body(request: HttpRequest, limits: IntakeLimits) -> bytes:
    """The decoded body: 413 past either bound, 415 for an unknown coding, 400 for a corrupt or short one."""
    stream = request
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        # A chunked upload has no Content-Length, so Django's request stream is empty;
        # servers that set wsgi.input_terminated (gunicorn) end wsgi.input at the
        # body's end, so it can be read directly, within the same bounds.
        stream = request.META["wsgi.input"]
    return compression.read_body(
        stream,
        encoding=request.META.get("HTTP_CONTENT_ENCODING"),
        content_length=request.META.get("CONTENT_LENGTH"),
        max_body_bytes=limits.max_body_bytes,
        max_decompressed_bytes=limits.max_decompressed_bytes,
    )


def parse_ingest_body(media_type: str, body: bytes, headers: dict, limits: IntakeLimits) -> ParsedBatch:
    """The records of a ``POST /ingest`` body: one JSON object, a JSON array, NDJSON or text."""
    if media_type == MEDIA_TEXT:
        return parse_text_body(body, headers, limits)
    return batch_format.parse_batch(media_type, body, limits)


def parse_text_body(body: bytes, headers: dict, limits: IntakeLimits) -> ParsedBatch:
    """``text/plain``: the body is the text of one log; its log id comes in ``X-Log-ID`` (else generated)."""
    log_id = headers.get("HTTP_X_LOG_ID")
    if log_id is not None:
        problem = identifier_error(log_id, "X-Log-ID")
        if problem:
            raise InvalidRequest(problem)
    try:
        text = body.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    try:
        check_text(text, limits, "The body")
    except RecordInvalid as invalid:
        return ParsedBatch(items=(), errors=(RecordError(0, invalid.code, invalid.detail),), single=True)
    return ParsedBatch(items=((0, IntakeRecord(text=text, log_id=log_id)),), single=True)


def parse_otlp_body(media_type: str, body: bytes, limits: IntakeLimits) -> ParsedBatch:
    """The records of a ``POST /v1/logs`` body (protobuf or OTLP JSON)."""
    return otlp.parse_export_request(body, media_type, limits)
