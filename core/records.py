"""What a log store holds and hands back: one record per ``(tenant_id, log_id)``.

Plain data shared by every layer: the stores build them, the worker, the read
API and the console read them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

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
    # What the log itself said (intake v2): when it happened, how severe, its other fields.
    event_time: datetime | None = None
    severity: str = ""
    attributes: dict = field(default_factory=dict)
    # What redaction found ({detector: count}, never the values) under which policy version.
    findings: dict = field(default_factory=dict)
    policy_version: int = 0
    # When the record, and (sooner) its original text, are removed; None: kept.
    expires_at: datetime | None = None
    original_text_expires_at: datetime | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_envelope(self) -> LogEnvelope:
        """Rebuild what was queued, for replay (attributes as stored: already redacted)."""
        return LogEnvelope(
            tenant_id=self.tenant_id,
            log_id=self.log_id,
            source=self.source,
            text=self.original_text,
            received_at=self.received_at.isoformat(),
            request_id=self.request_id,
            event_time=self.event_time.isoformat() if self.event_time else "",
            severity=self.severity,
            attributes=dict(self.attributes),
        )


@dataclass(frozen=True)
class Retention:
    """How long a record and its original text are kept, as timestamps (None: no limit).

    ``keep_original`` False: the original text is never stored (the tenant's
    ``original_text_retention_days`` is 0); only the redacted text is.
    """

    expires_at: datetime | None = None
    original_text_expires_at: datetime | None = None
    keep_original: bool = True


KEEP_FOREVER = Retention()


@dataclass(frozen=True)
class ProcessedLog:
    """One ``save_result`` call's arguments, for ``save_results``.

    ``attributes`` are the redacted attributes to store (None: the envelope's).
    """

    envelope: LogEnvelope
    modified_data: str
    message_id: str
    processed_at: datetime
    findings: dict = field(default_factory=dict)
    policy_version: int = 0
    attributes: dict | None = None
    retention: Retention = KEEP_FOREVER


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


def event_time_of(envelope: LogEnvelope) -> datetime | None:
    """The envelope's event time as an aware datetime, or None when the log did not say."""
    if not envelope.event_time:
        return None
    moment = datetime.fromisoformat(envelope.event_time)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
