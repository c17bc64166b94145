"""What a log store holds and hands back: one record per ``(tenant_id, log_id)``.

Plain data shared by every layer: the stores build them, the worker, the read
API and the console read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from core.envelope import LogEnvelope

STATUS_PROCESSED = "processed"
STATUS_RETRYING = "retrying"
STATUS_DEAD_LETTERED = "dead_lettered"
STATUSES = (STATUS_PROCESSED, STATUS_RETRYING, STATUS_DEAD_LETTERED)


@dataclass
class LogRecord:
    tenant_id: str
    log_id: str
    source: str
    original_text: str
    modified_data: str | None
    status: str
    attempts: int
    last_error: str
    received_at: datetime
    processed_at: datetime | None
    message_id: str
    request_id: str = ""
    updated_at: datetime | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_envelope(self) -> LogEnvelope:
        """Rebuild what was queued, for replay."""
        return LogEnvelope(
            tenant_id=self.tenant_id,
            log_id=self.log_id,
            source=self.source,
            text=self.original_text,
            received_at=self.received_at.isoformat(),
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class ProcessedLog:
    """One ``save_result`` call's arguments, for ``save_results``."""

    envelope: LogEnvelope
    modified_data: str
    message_id: str
    processed_at: datetime


@dataclass
class LogPage:
    records: list[LogRecord]
    # Opaque; pass back as ``cursor`` for the next (older) page. None on the last page.
    next_cursor: str | None


@dataclass
class TenantSummary:
    tenant_id: str
    counts: dict[str, int] = field(default_factory=dict)
    last_activity: datetime | None = None


@dataclass(frozen=True)
class ActivityBucket:
    minute: datetime
    received: int
    processed: int
