"""Batches at the intake: 500-record NDJSON and JSON-array bodies to ``/ingest``, OTLP protobuf to ``/v1/logs``.

Eight connections (threads of this process, each with its own keep-alive
connection) post the same pre-built body as fast as it is answered, for the
plan's closed-loop seconds per row, after a short discarded warm-up. A row
reports logs per second (records of the 2xx answers), requests per second, p50
and p99 latency, errors (anything but a 2xx or a 503: other statuses and
transport failures) and 503s. The records use shippers' field names and no
tenant or log id (the tenant comes in X-Tenant-ID, ids are generated), so each
request takes the path a shipper's does; only the API runs, no worker.

``measure()``, ``render()`` and ``evaluate()`` give ``python -m bench`` its rows
(section ``batches``); ``python -m bench.batches [--quick]`` runs them alone on the
embedded backends and prints the table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bench.plan import FULL, QUICK, TENANTS, Plan
from bench.processes import Gunicorn
from bench.stats import percentiles

RECORDS = 500
CONNECTIONS = 8
REQUEST_TIMEOUT_SECONDS = 30.0
START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class BatchKind:
    name: str
    path: str
    content_type: str
    body: bytes


def records(count: int = RECORDS) -> list[dict]:
    """Log objects as Vector's file source writes them, about 100 characters of text each."""
    return [
        {
            "message": f"GET /api/v1/orders/{number} 200 user=555-01{number % 100:02d} took {number % 97} ms ok",
            "timestamp": (START + timedelta(milliseconds=number)).isoformat().replace("+00:00", "Z"),
            "level": "info",
            "host": "bench-1",
            "file": "/var/log/app.log",
        }
        for number in range(count)
    ]


def otlp_body(count: int = RECORDS) -> bytes:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    log_records = [
        {
            "timeUnixNano": str(int((START + timedelta(milliseconds=number)).timestamp() * 1e9)),
            "severityNumber": 9,
            "severityText": "INFO",
            "body": {"stringValue": record["message"]},
            "attributes": [{"key": "host", "value": {"stringValue": record["host"]}}],
        }
        for number, record in enumerate(records(count))
    ]
    document = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bench"}}]},
                "scopeLogs": [{"scope": {"name": "bench"}, "logRecords": log_records}],
            }
        ]
    }
    return json_format.ParseDict(document, ExportLogsServiceRequest()).SerializeToString()


def kinds() -> list[BatchKind]:
    batch = records()
    return [
        BatchKind(
            "ndjson",
            "/ingest",
            "application/x-ndjson",
            b"".join(json.dumps(record).encode() + b"\n" for record in batch),
        ),
        BatchKind("json array", "/ingest", "application/json", json.dumps(batch).encode()),
        BatchKind("otlp protobuf", "/v1/logs", "application/x-protobuf", otlp_body()),
    ]


@dataclass
class BatchRow:
    kind: str
    route: str
    records_per_request: int
    connections: int
    seconds: float
    requests: int
    logs_per_second: float
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    unavailable: int

    def to_dict(self) -> dict:
        return asdict(self)


class _Client:
    """One keep-alive connection posting one body, recording (latency, status) per request."""

    def __init__(self, url: str, kind: BatchKind, tenant: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.kind = kind
        self.headers = {"Content-Type": kind.content_type, "X-Tenant-ID": tenant}
        self.connection: http.client.HTTPConnection | None = None

    def post(self) -> int:
        """The status; 0 when no answer came (the connection is dropped and made again)."""
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=REQUEST_TIMEOUT_SECONDS
                )
            self.connection.request("POST", self.kind.path, body=self.kind.body, headers=self.headers)
            response = self.connection.getresponse()
            response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status
        except (OSError, http.client.HTTPException):
            self.close()
            return 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def smoke(base_url: str, kind: BatchKind) -> None:
    """One request must be accepted whole: a row of refusals would measure the wrong thing."""
    client = _Client(base_url, kind, "bench-t00")
    try:
        client.connection = http.client.HTTPConnection(
            client.host, client.port, timeout=REQUEST_TIMEOUT_SECONDS
        )
        client.connection.request("POST", kind.path, body=kind.body, headers=client.headers)
        response = client.connection.getresponse()
        answer = response.read()
    finally:
        client.close()
    if kind.path == "/ingest":
        accepted = response.status == 202 and json.loads(answer).get("accepted") == RECORDS
    else:
        accepted = response.status == 200 and answer == b""  # no partialSuccess: every record taken
    if not accepted:
        raise RuntimeError(f"{kind.name} to {kind.path} answered {response.status}: {answer[:300]!r}")


def run_row(base_url: str, kind: BatchKind, *, seconds: float, warmup_seconds: float) -> BatchRow:
    smoke(base_url, kind)
    outcomes: list[tuple[float, float, int]] = []  # (sent at, latency, status)
    lock = threading.Lock()
    stop_at = time.monotonic() + warmup_seconds + seconds
    measure_from = time.monotonic() + warmup_seconds

    def connection_loop(number: int) -> None:
        client = _Client(base_url, kind, f"bench-t{number % TENANTS:02d}")
        mine = []
        while (started := time.monotonic()) < stop_at:
            status = client.post()
            mine.append((started, time.monotonic() - started, status))
        client.close()
        with lock:
            outcomes.extend(mine)

    threads = [threading.Thread(target=connection_loop, args=(number,)) for number in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    measured = [(latency, status) for sent, latency, status in outcomes if sent >= measure_from]
    ok = [latency for latency, status in measured if 200 <= status < 300]
    unavailable = sum(1 for _, status in measured if status == 503)
    errors = sum(1 for _, status in measured if not 200 <= status < 300 and status != 503)
    points = percentiles([latency * 1000 for latency, _ in measured], (50, 99))
    return BatchRow(
        kind=kind.name,
        route=kind.path,
        records_per_request=RECORDS,
        connections=CONNECTIONS,
        seconds=seconds,
        requests=len(measured),
        logs_per_second=round(len(ok) * RECORDS / seconds, 1),
        requests_per_second=round(len(measured) / seconds, 1),
        p50_ms=points[50],
        p99_ms=points[99],
        errors=errors,
        unavailable=unavailable,
    )


def measure_server(base_url: str, plan: Plan) -> list[dict]:
    return [
        run_row(base_url, kind, seconds=plan.closed_seconds, warmup_seconds=plan.warmup_seconds).to_dict()
        for kind in kinds()
    ]


def measure(workspace, backend: str, plan: Plan) -> list[dict]:
    """The rows for one backend, on a gunicorn of their own (a fresh database, as every phase)."""
    from bench.environment import Probe

    env = workspace.phase_env(backend, f"batches-{backend}")
    with Probe(env, workspace.log(f"probe-batches-{backend}")) as probe:
        probe.call("setup")  # a fresh Pub/Sub project has no topic yet
    server = Gunicorn(f"api-batches-{backend}", env, workspace.log(f"api-batches-{backend}"))
    try:
        server.start()
        return measure_server(server.url(""), plan)
    finally:
        server.stop()


def render(section: dict[str, list[dict]]) -> str:
    """The table: one row per backend and kind of batch."""
    from bench.report import table

    seconds = next((row["seconds"] for rows in section.values() for row in rows), None)
    heading = (
        f"Batches at the intake ({RECORDS} records a request, {CONNECTIONS} connections"
        + (f", {seconds:g} s a row" if seconds else "")
        + ", API only)"
    )
    body = [
        [
            backend,
            row["kind"],
            row["route"],
            row["logs_per_second"],
            row["requests_per_second"],
            row["p50_ms"],
            row["p99_ms"],
            row["errors"],
            row["unavailable"],
        ]
        for backend, rows in section.items()
        for row in rows
    ]
    return (
        heading
        + "\n"
        + table(["backend", "body", "route", "logs/s", "req/s", "p50 ms", "p99 ms", "errors", "503s"], body)
    )


def evaluate(section: dict[str, list[dict]]) -> list[dict]:
    """No speed target yet (another issue sets them): every row must answer without errors."""
    checks = []
    for backend, rows in section.items():
        for row in rows:
            checks.append(
                {
                    "section": "7",
                    "what": f"batches {backend} {row['kind']} @{row['connections']}: errors",
                    "value": row["errors"],
                    "shown": str(row["errors"]),
                    "target": "0",
                    "met": row["errors"] == 0,
                }
            )
    return checks


def main(argv: list[str] | None = None) -> int:
    from bench.environment import EMBEDDED, Workspace

    parser = argparse.ArgumentParser(prog="python -m bench.batches", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rows (make bench-quick's durations)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    options = parser.parse_args(argv)
    plan = QUICK if options.quick else FULL
    workspace = Workspace(keep=options.keep)
    try:
        workspace.migrate_template()
        section = {EMBEDDED: measure(workspace, EMBEDDED, plan)}
    finally:
        workspace.cleanup()
    print("\n" + render(section))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
