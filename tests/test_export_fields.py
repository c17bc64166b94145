"""The console's NDJSON download and the read API's export give a log the same fields and values.

Two faces that must not import each other (the console and ``logs_api``) each write
the line; this holds them to one shape.
"""

import dataclasses
from datetime import UTC, datetime

from console.export import EXPORT_FIELDS, export_line
from core.records import STATUS_PROCESSED, LogRecord
from logs_api.serializers import LogRecordSerializer

RECORD = LogRecord(
    tenant_id="acme",
    log_id="123",
    source="json_upload",
    original_text="User 555-0199 accessed the system",
    modified_data="User [REDACTED] accessed the system",
    status=STATUS_PROCESSED,
    attempts=2,
    last_error="TimeoutError",
    received_at=datetime(2026, 11, 30, 23, 59, 58, 250000, tzinfo=UTC),
    processed_at=datetime(2026, 12, 1, 0, 0, 3, tzinfo=UTC),
    message_id="m-1",
    request_id="req-1",
    event_time=datetime(2026, 11, 30, 23, 59, 57, tzinfo=UTC),
    severity="WARN",
    attributes={"host": "web-1", "status": 502},
)


def test_the_console_download_has_the_read_apis_fields_in_its_order():
    assert list(EXPORT_FIELDS) == list(LogRecordSerializer().fields)


def test_a_log_reads_the_same_in_both():
    assert export_line(RECORD) == dict(LogRecordSerializer().to_representation(RECORD))


def test_a_log_not_processed_yet_shows_no_attributes_in_either():
    pending = dataclasses.replace(RECORD, modified_data=None, status="retrying", processed_at=None)

    assert export_line(pending) == dict(LogRecordSerializer().to_representation(pending))
    assert export_line(pending)["attributes"] == {}
    assert export_line(pending, include_original=True)["attributes"] == RECORD.attributes


def test_only_the_console_adds_the_original_text_and_only_when_asked():
    assert "original_text" not in export_line(RECORD)
    assert export_line(RECORD, include_original=True)["original_text"] == RECORD.original_text
