"""A small in-memory ``BaseLogStore`` for worker tests that need no database.

It follows the store contract's write rules (a processed record never changes,
``record_failure`` returns the attempts so far) and can be switched "down" to
raise ``StoreUnavailable`` like an unreachable database.
"""

from __future__ import annotations

import threading
from datetime import datetime

from core.envelope import LogEnvelope
from core.records import STATUS_DEAD_LETTERED, STATUS_PROCESSED, STATUS_RETRYING, LogRecord
from tenants.stores.base import BaseLogStore, StoreUnavailable


class FakeLogStore(BaseLogStore):
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], LogRecord] = {}
        self.down = False
        self.saves = 0
        self._lock = threading.Lock()

    def _check_up(self) -> None:
        if self.down:
            raise StoreUnavailable("fake store is down")

    def _new_record(self, envelope: LogEnvelope, message_id: str) -> LogRecord:
        return LogRecord(
            tenant_id=envelope.tenant_id,
            log_id=envelope.log_id,
            source=envelope.source,
            original_text=envelope.text,
            modified_data=None,
            status=STATUS_RETRYING,
            attempts=0,
            last_error="",
            received_at=datetime.fromisoformat(envelope.received_at),
            processed_at=None,
            message_id=message_id,
            request_id=envelope.request_id,
        )

    def save_result(self, envelope, *, modified_data, message_id, processed_at) -> bool:
        self._check_up()
        with self._lock:
            key = (envelope.tenant_id, envelope.log_id)
            record = self.records.get(key) or self._new_record(envelope, message_id)
            if record.status == STATUS_PROCESSED:
                return False
            record.status = STATUS_PROCESSED
            record.modified_data = modified_data
            record.processed_at = processed_at
            record.message_id = message_id
            record.attempts += 1
            self.records[key] = record
            self.saves += 1
            return True

    def record_failure(self, envelope, *, error, message_id) -> int:
        self._check_up()
        with self._lock:
            key = (envelope.tenant_id, envelope.log_id)
            record = self.records.get(key) or self._new_record(envelope, message_id)
            if record.status != STATUS_PROCESSED:
                record.status = STATUS_RETRYING
                record.attempts += 1
                record.last_error = error
            self.records[key] = record
            return record.attempts

    def mark_dead_lettered(self, tenant_id, log_id) -> None:
        self._check_up()
        with self._lock:
            record = self.records.get((tenant_id, log_id))
            if record is not None and record.status != STATUS_PROCESSED:
                record.status = STATUS_DEAD_LETTERED

    def get(self, tenant_id, log_id):
        self._check_up()
        return self.records.get((tenant_id, log_id))

    def check(self) -> None:
        self._check_up()
