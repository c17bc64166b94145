"""What every format produces: validated records, the errors of rejected ones, and the batch holding both.

A ``ParsedBatch`` keeps each record's ``index`` (0-based, in the order the client
sent them) so the 202 of a partial success and the ``errors`` list can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Per-record error codes (the ``error`` of each item in a partial success's ``errors``).
# A small fixed set: they label the rejection metrics.
INVALID_JSON = "invalid_json"
INVALID_RECORD = "invalid_record"
MISSING_TEXT = "missing_text"
INVALID_TEXT = "invalid_text"
TEXT_TOO_LONG = "text_too_long"
INVALID_TENANT_ID = "invalid_tenant_id"
INVALID_LOG_ID = "invalid_log_id"
DUPLICATE_LOG_ID = "duplicate_log_id"
INVALID_TRACE_ID = "invalid_trace_id"
# Decided by the view, not the parsers: a record naming no tenant where the request
# names none either, and a record naming a tenant the request may not write.
MISSING_TENANT_ID = "missing_tenant_id"
FORBIDDEN_TENANT = "forbidden_tenant"
RECORD_ERROR_CODES = (
    INVALID_JSON,
    INVALID_RECORD,
    MISSING_TEXT,
    INVALID_TEXT,
    TEXT_TOO_LONG,
    INVALID_TENANT_ID,
    INVALID_LOG_ID,
    DUPLICATE_LOG_ID,
    INVALID_TRACE_ID,
    MISSING_TENANT_ID,
    FORBIDDEN_TENANT,
)


@dataclass(frozen=True)
class IntakeRecord:
    """One log as a client sent it, validated and normalised, before it becomes an envelope.

    ``tenant_id`` and ``log_id`` are None when the client left them out (the tenant
    then comes from the API key or X-Tenant-ID, the log id is generated).
    ``event_time`` is RFC 3339 UTC (``2024-05-01T12:00:00.123456+00:00``, the form of
    ``received_at``) or "" when the client sent none that could be read; ``severity``
    is "" when absent. ``attributes`` is a flat dict of JSON scalars, already bounded
    (``fields.bound_attributes``); do not mutate it.
    """

    text: str
    tenant_id: str | None = None
    log_id: str | None = None
    event_time: str = ""
    severity: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


_new_object = object.__new__


def intake_record(
    text: str,
    tenant_id: str | None,
    log_id: str | None,
    event_time: str,
    severity: str,
    attributes: dict[str, Any],
) -> IntakeRecord:
    """``IntakeRecord(...)`` for the parsers, which make one per log: the same value, a third of the cost.

    The frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``;
    this writes the instance's dict directly (``test_fast_paths`` holds it to every field).
    """
    record = _new_object(IntakeRecord)
    fields = record.__dict__  # the frozen __setattr__ is not in the way of the dict itself
    fields["text"] = text
    fields["tenant_id"] = tenant_id
    fields["log_id"] = log_id
    fields["event_time"] = event_time
    fields["severity"] = severity
    fields["attributes"] = attributes
    return record


@dataclass(frozen=True)
class RecordError:
    """Why the record at ``index`` was rejected: ``error`` is one of RECORD_ERROR_CODES."""

    index: int
    error: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "error": self.error, "detail": self.detail}


class RecordInvalid(Exception):
    """Raised while normalising one record; the batch turns it into a ``RecordError``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ParsedBatch:
    """The records of one request: ``items`` are (index, record) of the valid ones, in order.

    ``single`` is True when the body was one JSON object (the seed contract of
    ``POST /ingest``, answered with one item rather than a batch response).
    """

    items: tuple[tuple[int, IntakeRecord], ...]
    errors: tuple[RecordError, ...] = ()
    single: bool = False

    @property
    def records(self) -> list[IntakeRecord]:
        return [record for _, record in self.items]

    @property
    def accepted(self) -> int:
        return len(self.items)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    @property
    def total(self) -> int:
        return len(self.items) + len(self.errors)

    def error_dicts(self) -> list[dict[str, Any]]:
        return [error.to_dict() for error in self.errors]

    @classmethod
    def collect(cls, outcomes: list[IntakeRecord | RecordError], *, single: bool = False) -> ParsedBatch:
        """A batch from one outcome per record, in record order (the index is the position)."""
        items: list[tuple[int, IntakeRecord]] = []
        errors: list[RecordError] = []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, RecordError):
                errors.append(outcome)
            else:
                items.append((index, outcome))
        return cls(items=tuple(items), errors=tuple(errors), single=single)
