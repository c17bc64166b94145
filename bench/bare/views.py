"""The durable batch ceiling's view (the single-log ceiling is ``bench.ceiling.CeilingView``)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from datetime import UTC, datetime

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# The service's identifier rule (tenant and log ids), written out again: nothing of it is imported.
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def identifier_ok(value: object) -> bool:
    return (
        isinstance(value, str)
        and _IDENTIFIER.fullmatch(value) is not None
        and value not in (".", "..")
        and not (value.startswith("__") and value.endswith("__"))
    )


class SqliteQueue:
    """A queue table in one SQLite file: one connection per thread, one transaction per batch."""

    CREATE = (
        "CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "log_id TEXT NOT NULL, text TEXT NOT NULL, received_at TEXT NOT NULL)"
    )
    INSERT = "INSERT INTO queue (tenant_id, log_id, text, received_at) VALUES (?, ?, ?, ?)"

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(self.CREATE)
            self._local.connection = connection
        return connection

    def insert(self, rows: list[tuple[str, str, str, str]]) -> None:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(self.INSERT, rows)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


_queue: SqliteQueue | None = None
_queue_lock = threading.Lock()


def queue() -> SqliteQueue:
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = SqliteQueue(settings.BARE_QUEUE_DATABASE)
        return _queue


class DurableBatchView(APIView):
    """An NDJSON batch: each line parsed and its fields checked, every valid record queued at once.

    Invalid records are counted and left out (partial success); the answer comes
    only after the transaction committed.
    """

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes: list = []

    def post(self, request: Request) -> Response:
        received_at = datetime.now(UTC).isoformat()
        rows: list[tuple[str, str, str, str]] = []
        rejected = 0
        for line in request.body.split(b"\n"):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                rejected += 1
                continue
            if not isinstance(record, dict):
                rejected += 1
                continue
            tenant_id, log_id, text = record.get("tenant_id"), record.get("log_id"), record.get("text")
            if not (identifier_ok(tenant_id) and identifier_ok(log_id) and isinstance(text, str)):
                rejected += 1
                continue
            rows.append((tenant_id, log_id, text, received_at))
        if not rows:
            return Response({"error": "invalid", "rejected": rejected}, status=400)
        try:
            queue().insert(rows)
        except sqlite3.Error as exc:
            return Response({"error": "unavailable", "detail": str(exc)}, status=503)
        return Response({"status": "accepted", "accepted": len(rows), "rejected": rejected}, status=202)
