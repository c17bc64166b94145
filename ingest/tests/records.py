"""LogRecord builders for the read API tests."""

from datetime import UTC, datetime, timedelta

from core.envelope import SOURCE_JSON
from core.records import STATUS_PROCESSED, LogRecord

BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_record(tenant_id="acme", log_id="123", *, minutes=0, status=STATUS_PROCESSED, **fields) -> LogRecord:
    processed = status == STATUS_PROCESSED
    values = {
        "tenant_id": tenant_id,
        "log_id": log_id,
        "source": SOURCE_JSON,
        "original_text": "User 555-0199 accessed the system",
        "modified_data": "User [REDACTED] accessed the system" if processed else None,
        "status": status,
        "attempts": 1,
        "last_error": "",
        "received_at": BASE_TIME + timedelta(minutes=minutes),
        "processed_at": BASE_TIME + timedelta(minutes=minutes, seconds=5) if processed else None,
        "message_id": f"m-{log_id}",
        "request_id": "req-1",
    }
    values.update(fields)
    return LogRecord(**values)
