"""A small, bounded load: a few client threads POSTing logs to 127.0.0.1 and writing down every answer.

Bounded twice: at most ``total`` logs and at most ``max_seconds`` of sending.
Each log has its own id, so what happened to every single one can be checked
afterwards. A request that got no answer (refused, reset, timed out) is kept
as unanswered: the client does not know whether it was queued, and may retry
it with the same log id.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.reliability.services import request

JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class SentLog:
    """One log the load sent, and every answer it got."""

    tenant_id: str
    log_id: str
    text: str
    statuses: list[int | None] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant_id, self.log_id)

    @property
    def accepted(self) -> bool:
        return 202 in self.statuses

    @property
    def unanswered(self) -> bool:
        return None in self.statuses

    def body(self) -> bytes:
        return json.dumps({"tenant_id": self.tenant_id, "log_id": self.log_id, "text": self.text}).encode()


def log_text(number: int, length: int) -> str:
    """A log with a phone number to redact, padded to ``length`` characters (the simulated work)."""
    text = f"User 555-{number % 10000:04d} opened report {number}"
    return (text + " " + "x" * length)[:length] if len(text) < length else text


class Load:
    """Sends logs from ``threads`` client threads until ``total`` are sent or ``max_seconds`` pass."""

    def __init__(
        self,
        base_url: Callable[[], str],
        *,
        tenants: list[str],
        total: int,
        threads: int = 4,
        pause_seconds: float = 0.02,
        pause_after_failure: float = 0.25,
        max_seconds: float = 120.0,
        text_length: int = 40,
        prefix: str = "log",
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url
        self.tenants = tenants
        self.total = total
        self.threads = threads
        self.pause_seconds = pause_seconds
        self.pause_after_failure = pause_after_failure
        self.max_seconds = max_seconds
        self.text_length = text_length
        self.prefix = prefix
        self.timeout = timeout
        self.sent: list[SentLog] = []
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> Load:
        self._deadline = time.monotonic() + self.max_seconds
        for number in range(self.threads):
            thread = threading.Thread(target=self._send_loop, name=f"load-{number}", daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def _next(self) -> SentLog | None:
        with self._lock:
            number = next(self._numbers)
            if number >= self.total or self._stop.is_set() or time.monotonic() > self._deadline:
                return None
            log = SentLog(
                tenant_id=self.tenants[number % len(self.tenants)],
                log_id=f"{self.prefix}-{number:05d}",
                text=log_text(number, self.text_length),
            )
            self.sent.append(log)
            return log

    def _send_loop(self) -> None:
        while (log := self._next()) is not None:
            answered = send(self.base_url(), log, timeout=self.timeout) is not None
            time.sleep(self.pause_seconds if answered else self.pause_after_failure)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the senders to finish (at most ``max_seconds`` plus one request timeout)."""
        limit = timeout if timeout is not None else self.max_seconds + self.timeout + 5
        deadline = time.monotonic() + limit
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in self._workers), "load threads did not finish"

    def stop(self) -> None:
        """Send nothing more; return once every request under way has its answer."""
        self._stop.set()
        self.wait(self.timeout + 5)

    def count(self, predicate: Callable[[SentLog], bool]) -> int:
        with self._lock:
            return sum(1 for log in self.sent if predicate(log))

    @property
    def accepted(self) -> list[SentLog]:
        return [log for log in self.sent if log.accepted]


def send(base_url: str, log: SentLog, *, timeout: float = 10.0) -> int | None:
    """POST one log, record its answer; None when there was none."""
    status, _, body = request(
        "POST", f"{base_url}/ingest", body=log.body(), headers=JSON_HEADERS, timeout=timeout
    )
    log.statuses.append(status)
    if status == 202:
        log.message_ids.append(json.loads(body)["message_id"])
    return status


def retry_until_accepted(base_url: str, logs: list[SentLog], *, max_seconds: float = 30.0) -> None:
    """What a careful client does with a request that got no answer: send it again, same log id."""
    deadline = time.monotonic() + max_seconds
    for log in logs:
        while not log.accepted:
            assert time.monotonic() < deadline, f"{log.key} was never accepted: {log.statuses}"
            if send(base_url, log) != 202:
                time.sleep(0.2)
