"""Turn an ``/ingest`` request body into validated uploads, or refuse it with a 4xx.

Three content types, one result: a list of ``Upload`` (tenant, log id, text,
source). Everything here is pure parsing and validation, with no queue, auth or
database, so every malformed input has a cheap, exact test. Bodies are read with a
hard bound and never through Django's ``request.body``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.http import parse_header_parameters

from core.envelope import SOURCE_JSON, SOURCE_TEXT
from core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from core.identifiers import identifier_error

MEDIA_JSON = "application/json"
MEDIA_TEXT = "text/plain"
MEDIA_NDJSON = "application/x-ndjson"
MEDIA_TYPES = (MEDIA_JSON, MEDIA_TEXT, MEDIA_NDJSON)
# JSON is UTF-8 by definition (RFC 8259) and text must be too; ASCII is a subset.
ACCEPTED_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})

_READ_CHUNK_BYTES = 64 * 1024
_BOM = "\ufeff"


@dataclass(frozen=True)
class Upload:
    """One log as the client sent it, validated; ``line`` is its NDJSON line number."""

    tenant_id: str
    log_id: str
    text: str
    source: str
    line: int | None = None


def media_type_of(request: HttpRequest) -> str:
    """The request's media type (lower case), or 415 when missing, unknown or not UTF-8."""
    header = request.META.get("CONTENT_TYPE", "")
    media_type, params = parse_header_parameters(header)
    if not media_type:
        raise UnsupportedMediaType(f"A Content-Type header is required: one of {', '.join(MEDIA_TYPES)}.")
    if media_type not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {media_type!r} is not accepted; use one of {', '.join(MEDIA_TYPES)}."
        )
    charset = params.get("charset")
    if charset is not None and charset.lower() not in ACCEPTED_CHARSETS:
        raise UnsupportedMediaType(f"charset {charset!r} is not accepted; send UTF-8.")
    return media_type


def read_body(request: HttpRequest, max_bytes: int) -> bytes:
    """Read at most ``max_bytes`` of body; 413 when the declared or the actual size is larger.

    The declared Content-Length is checked first so an oversize upload is refused
    without reading it; the read itself is bounded too, whatever the header said.
    """
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        try:
            declared_bytes = int(declared)
        except ValueError:
            raise InvalidRequest("Content-Length is not a number.") from None
        if declared_bytes > max_bytes:
            raise PayloadTooLarge(f"The body is {declared_bytes} bytes; the limit is {max_bytes} bytes.")
    stream = request
    if not declared and request.META.get("wsgi.input_terminated"):
        # A chunked upload has no Content-Length, so Django's request stream is empty;
        # servers that set wsgi.input_terminated (gunicorn) end wsgi.input at the
        # body's end, so it can be read directly, within the same bound.
        stream = request.META["wsgi.input"]
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK_BYTES, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(f"The body is larger than the limit of {max_bytes} bytes.")
    if declared and total < declared_bytes:
        # The client stopped early: never accept a truncated log.
        raise InvalidRequest(f"The body ended after {total} of the {declared_bytes} bytes announced.")
    return b"".join(chunks)


def parse_upload_body(media_type: str, body: bytes, headers: dict, max_lines: int) -> list[Upload]:
    """Validate ``body`` of ``media_type`` into uploads; InvalidRequest (400) names what is wrong."""
    if media_type == MEDIA_JSON:
        return [parse_json(body)]
    if media_type == MEDIA_TEXT:
        return [parse_text(body, headers)]
    return parse_ndjson(body, max_lines)


def parse_json(body: bytes) -> Upload:
    if not body.strip():
        raise InvalidRequest("The body is empty; send a JSON object with tenant_id, log_id and text.")
    document = _load_json(_decode(body, "The body"), where="")
    return upload_from_object(document, where="")


def parse_text(body: bytes, headers: dict) -> Upload:
    """``text/plain``: the body is the text; the tenant and optional log id come in headers."""
    tenant_id = headers.get("HTTP_X_TENANT_ID")
    if tenant_id is None:
        raise InvalidRequest("text/plain uploads need an X-Tenant-ID header.")
    _check_identifier(tenant_id, "X-Tenant-ID")
    log_id = headers.get("HTTP_X_LOG_ID")
    if log_id is None:
        log_id = str(uuid.uuid4())
    else:
        _check_identifier(log_id, "X-Log-ID")
    text = _decode(body, "The body")
    _check_text(text, "The body")
    return Upload(tenant_id=tenant_id, log_id=log_id, text=text, source=SOURCE_TEXT)


def parse_ndjson(body: bytes, max_lines: int) -> list[Upload]:
    """One JSON object per line; the whole batch is refused if any line is wrong.

    Blank lines (a trailing newline, say) are skipped; line numbers count every
    physical line so they match the client's file.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise InvalidRequest(f"line {line}: not valid UTF-8 (byte {exc.start} of the body).") from None
    lines = [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not lines:
        raise InvalidRequest("The batch is empty; send one JSON object per line.")
    if len(lines) > max_lines:
        raise PayloadTooLarge(f"The batch has {len(lines)} logs; the limit is {max_lines} lines per request.")
    uploads: list[Upload] = []
    first_seen: dict[tuple[str, str], int] = {}
    for number, line in lines:
        where = f"line {number}: "
        if number == 1:
            line = line.removeprefix(_BOM)
        upload = upload_from_object(_load_json(line, where=where), where=where, line=number)
        key = (upload.tenant_id, upload.log_id)
        if key in first_seen:
            raise InvalidRequest(
                f"{where}tenant_id {upload.tenant_id!r} and log_id {upload.log_id!r} "
                f"repeat line {first_seen[key]}."
            )
        first_seen[key] = number
        uploads.append(upload)
    return uploads


def upload_from_object(document: object, *, where: str, line: int | None = None) -> Upload:
    """A JSON log object: ``tenant_id``, ``log_id`` and ``text``; other fields are ignored."""
    if not isinstance(document, dict):
        raise InvalidRequest(f"{where}expected a JSON object with tenant_id, log_id and text.")
    for name in ("tenant_id", "log_id", "text"):
        if name not in document:
            raise InvalidRequest(f"{where}{name} is required.")
    tenant_id, log_id, text = document["tenant_id"], document["log_id"], document["text"]
    _check_identifier(tenant_id, "tenant_id", where)
    _check_identifier(log_id, "log_id", where)
    if not isinstance(text, str):
        raise InvalidRequest(f"{where}text must be a string.")
    _check_text(text, "text", where)
    return Upload(tenant_id=tenant_id, log_id=log_id, text=text, source=SOURCE_JSON, line=line)


def text_error(text: str, name: str = "text") -> str | None:
    """Why ``text`` cannot be stored, or None.

    NUL cannot be stored in PostgreSQL text and lone surrogates cannot be encoded
    as UTF-8 for the queue; refusing them here keeps them from failing later.
    """
    if not text.strip():
        return f"{name} must not be empty."
    if "\x00" in text:
        return f"{name} must not contain NUL characters."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return f"{name} must be valid Unicode (it contains an unpaired surrogate)."
    return None


def _check_text(text: str, name: str, where: str = "") -> None:
    error = text_error(text, name)
    if error:
        raise InvalidRequest(f"{where}{error}")


def _check_identifier(value: object, name: str, where: str = "") -> None:
    error = identifier_error(value, name)
    if error:
        raise InvalidRequest(f"{where}{error}")


def _decode(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{what} is not valid UTF-8 (byte {exc.start}).") from None


def _load_json(text: str, *, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"{where}malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:
        raise InvalidRequest(f"{where}the JSON is nested too deeply.") from None
    except ValueError as exc:  # e.g. an integer literal past Python's digit limit
        raise InvalidRequest(f"{where}malformed JSON: {exc}") from None
