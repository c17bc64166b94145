"""The one flat format every upload becomes before it reaches the queue.

JSON and text/plain uploads (and each line of an NDJSON batch) are normalised
into a ``LogEnvelope`` so the worker has a single code path. It must survive a
JSON round trip unchanged: that is what travels on every queue backend.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

SOURCE_JSON = "json_upload"
SOURCE_TEXT = "text_upload"
SOURCES = (SOURCE_JSON, SOURCE_TEXT)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class LogEnvelope:
    tenant_id: str
    log_id: str
    source: str
    text: str
    received_at: str = field(default_factory=utc_now_iso)
    request_id: str = ""
    trace: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def to_bytes(self) -> bytes:
        return self.to_json().encode("utf-8")

    @classmethod
    def from_dict(cls, payload: dict) -> LogEnvelope:
        known = {name: payload[name] for name in cls.__dataclass_fields__ if name in payload}
        return cls(**known)

    @classmethod
    def from_json(cls, raw: str | bytes) -> LogEnvelope:
        return cls.from_dict(json.loads(raw))

    @classmethod
    def from_bytes(cls, data: bytes) -> LogEnvelope:
        """A payload off a queue as an envelope; ValueError when it is not one (park it, never retry)."""
        try:
            payload = json.loads(data)
            if not isinstance(payload, dict):
                raise ValueError("payload is not a JSON object")
            return cls.from_dict(payload)
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"payload is not a log envelope: {exc}") from exc
