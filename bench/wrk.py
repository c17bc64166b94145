"""Closed-loop load with ``wrk`` (Debian package): N connections, each sending as fast as answered."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "lua" / "ingest.lua"
# Batches of records: bench/lua/batch.lua <ndjson|array> <prefix> <tenants> <records>.
BATCH_SCRIPT = Path(__file__).resolve().parent / "lua" / "batch.lua"
MARKER = "BENCH_JSON "


class WrkMissing(RuntimeError):
    pass


@dataclass
class ClosedLoopResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_detail: dict

    def to_dict(self) -> dict:
        return asdict(self)


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk not found on PATH (apt-get install -y wrk; `make bench` does it)")
    return path


def run_wrk(
    url: str,
    *,
    mode: str,
    connections: int,
    seconds: float,
    prefix: str,
    tenants: int = 20,
    threads: int = 2,
    script: Path = SCRIPT,
    script_args: tuple[str, ...] = (),
) -> ClosedLoopResult:
    """Run wrk against ``url`` and return its summary (latencies in ms).

    ``script`` builds the requests (``mode``, ``prefix``, ``tenants`` and then
    ``script_args`` are its arguments): single logs by default, ``BATCH_SCRIPT``
    for batches.
    """
    command = [
        wrk_path(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        mode,
        prefix,
        str(tenants),
        *script_args,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith(MARKER)), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stdout}\n{completed.stderr}")
    summary = json.loads(line[len(MARKER) :])
    detail = {
        kind: summary[kind] for kind in ("connect", "read", "write", "status", "timeout") if summary[kind]
    }
    duration = summary["duration_us"] / 1e6
    return ClosedLoopResult(
        requests=summary["requests"],
        seconds=round(duration, 2),
        rps=round(summary["requests"] / duration, 1),
        p50_ms=summary["p50_us"] / 1000,
        p95_ms=summary["p95_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
        errors=sum(detail.values()),
        error_detail=detail,
    )
