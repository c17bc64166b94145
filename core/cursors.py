"""The opaque keyset cursor of a log listing: the last record's ``(received_at, log_id)``.

Every log store pages newest first on that pair and hands this cursor out; one
codec keeps them interchangeable. Anything a client sends back is untrusted: a
cursor this codec did not produce (too long, not base64, not a two-string JSON
list, a deep nesting meant to exhaust the parser) is a ``ValueError``, which the
read API answers with 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

# An encoded cursor is ~60 characters plus the log id (at most 128) in base64:
# anything much longer was not issued here, and is refused before it is parsed.
MAX_CURSOR_LENGTH = 512


def parse_received_at(value: str) -> datetime:
    """An envelope's ISO timestamp as an aware datetime (naive values are UTC)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def encode_cursor(received_at: datetime, log_id: str) -> str:
    """Opaque keyset position: the last record of a page."""
    raw = json.dumps([received_at.isoformat(), log_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of ``encode_cursor``; ValueError for anything it did not produce."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
        raise ValueError("invalid cursor: not one this API issued")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fields = json.loads(raw)
        if not (isinstance(fields, list) and len(fields) == 2 and all(isinstance(f, str) for f in fields)):
            raise TypeError("a cursor is two strings")
        received_at, log_id = fields
        return parse_received_at(received_at), log_id
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError, RecursionError) as exc:
        raise ValueError("invalid cursor: not one this API issued") from exc
