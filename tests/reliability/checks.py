"""What every fault test checks at the end, read from the log store (database or Firestore alike).

"Exactly once in effect": one record per accepted log, ``processed``, redacted
as the pipeline redacts, ``attempts == 1`` (no crash, shutdown or outage is ever
counted against a log), and nothing else in the tenant. A record that was
already processed before the last fault keeps its ``processed_at`` and
``message_id``: nothing saved it a second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from processing.redaction import redact
from tenants.stores import STATUS_PROCESSED, LogRecord, get_store
from tests.reliability.load import SentLog

T = TypeVar("T")
Key = tuple[str, str]


def wait_for(condition: Callable[[], T], *, timeout: float, interval: float = 0.25, message: str = "") -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message or condition}")
        time.sleep(interval)


def records_of(tenants: Iterable[str], status: str | None = None) -> dict[Key, LogRecord]:
    """Every record of these tenants (optionally of one status), by (tenant, log id)."""
    store = get_store()
    records: dict[Key, LogRecord] = {}
    for tenant_id in tenants:
        cursor = None
        while True:
            page = store.list_logs(tenant_id, status=status, limit=500, cursor=cursor)
            for record in page.records:
                records[(record.tenant_id, record.log_id)] = record
            cursor = page.next_cursor
            if cursor is None:
                break
    return records


def processed_count(tenants: Iterable[str]) -> int:
    store = get_store()
    return sum(store.counts(tenant_id)[STATUS_PROCESSED] for tenant_id in tenants)


def wait_until_processed(logs: list[SentLog], *, timeout: float) -> None:
    tenants = {log.tenant_id for log in logs}
    wait_for(
        lambda: processed_count(tenants) >= len({log.key for log in logs}),
        timeout=timeout,
        interval=0.5,
        message=f"{len(logs)} logs to be processed",
    )


def snapshot(records: dict[Key, LogRecord]) -> dict[Key, tuple]:
    """What must never change once a log is processed."""
    return {key: (record.processed_at, record.message_id) for key, record in records.items()}


def assert_processed_exactly_once(
    logs: list[SentLog], *, tenants: Iterable[str] | None = None, before: dict[Key, tuple] | None = None
) -> dict[Key, LogRecord]:
    """Each log in ``logs`` processed once in effect; the tenants hold nothing else."""
    expected = {log.key: log for log in logs}
    tenants = set(tenants or {log.tenant_id for log in logs})
    records = records_of(tenants)
    missing = sorted(expected.keys() - records.keys())
    unexpected = sorted(records.keys() - expected.keys())
    assert not missing, f"{len(missing)} accepted logs have no record: {missing[:10]}"
    assert not unexpected, f"{len(unexpected)} records nobody sent: {unexpected[:10]}"
    problems = []
    for key, log in expected.items():
        record = records[key]
        if record.status != STATUS_PROCESSED:
            problems.append(f"{key}: status {record.status} ({record.last_error})")
        elif record.attempts != 1:
            problems.append(f"{key}: {record.attempts} attempts ({record.last_error})")
        elif record.original_text != log.text or record.modified_data != redact(log.text):
            problems.append(f"{key}: stored text differs: {record.modified_data!r}")
        elif log.message_ids and not log.unanswered and record.message_id not in log.message_ids:
            problems.append(f"{key}: saved by message {record.message_id}, not one the API accepted")
    assert not problems, f"{len(problems)} logs not processed exactly once: {problems[:10]}"
    changed = [key for key, was in (before or {}).items() if snapshot({key: records[key]})[key] != was]
    assert not changed, f"processed records saved again: {changed[:10]}"
    return records
