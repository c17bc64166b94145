"""Sections 1 and 2: ``/ingest`` (and the ceiling) under closed-loop and open-loop load."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench.plan import TENANTS, Plan
from bench.processes import ROOT, Gunicorn
from bench.wrk import run_wrk

INGEST = "/ingest"
CEILING = "/bench/ceiling"


def smoke(server: Gunicorn, path: str, *, text: bool = True) -> None:
    """One JSON and one text request must answer 202: wrk would count a 3xx as a success."""
    samples = [(b'{"tenant_id":"bench-t00","log_id":"smoke-%s","text":"smoke test"}', "application/json")]
    if text:
        samples.append((b"smoke test", "text/plain"))
    for body, content_type in samples:
        body = body.replace(b"%s", uuid.uuid4().hex.encode())
        request = urllib.request.Request(
            server.url(path),
            data=body,
            method="POST",
            headers={"Content-Type": content_type, "X-Tenant-ID": "bench-t00"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
        if status != 202:
            raise RuntimeError(f"{path} ({content_type}) answered {status}: {answer[:300]!r}")


def closed_loop(server: Gunicorn, plan: Plan, label: str, *, ceiling_at: tuple[int, ...]) -> list[dict]:
    """wrk rows: every connection count and content type; the (JSON) ceiling next to the JSON row."""
    smoke(server, INGEST)
    with_ceiling = bool(ceiling_at)
    if with_ceiling:
        smoke(server, CEILING, text=False)
    run_tag = uuid.uuid4().hex[:6]
    # Warm-up (discarded): imports, connections and first-seen tenants settle first.
    for path in [INGEST, CEILING] if with_ceiling else [INGEST]:
        run_wrk(
            server.url(path), mode="json", connections=16, seconds=plan.warmup_seconds, prefix=f"w{run_tag}"
        )
    rows = []
    for connections in plan.connections:
        for mode in ("json", "text"):
            targets = [(label, INGEST)]
            if connections in ceiling_at and mode == "json":
                targets.insert(0, ("ceiling", CEILING))
            for variant, path in targets:
                result = run_wrk(
                    server.url(path),
                    mode=mode,
                    connections=connections,
                    seconds=plan.closed_seconds,
                    prefix=f"{run_tag}-{variant}-{mode}-{connections}",
                    tenants=TENANTS,
                )
                rows.append(
                    {"variant": variant, "mode": mode, "connections": connections, **result.to_dict()}
                )
    return rows


def open_loop(
    url: str,
    *,
    rate_per_minute: float,
    seconds: float,
    out: Path,
    prefix: str,
    records: bool = False,
    min_chars: int = 33,
    max_chars: int = 33,
) -> dict:
    """Fixed-rate load (bench/openloop.py in its own process), half JSON, half text/plain."""
    command = [
        sys.executable,
        "-m",
        "bench.openloop",
        "--url",
        url,
        "--rate",
        repr(rate_per_minute / 60),
        "--seconds",
        repr(seconds),
        "--mix",
        "half",
        "--tenants",
        str(TENANTS),
        "--min-chars",
        str(min_chars),
        "--max-chars",
        str(max_chars),
        "--prefix",
        prefix,
        "--out",
        str(out),
    ]
    if records:
        command.append("--records")
    subprocess.run(command, cwd=ROOT, check=True, timeout=seconds + 120)
    with out.open() as handle:
        result = json.load(handle)
    result["summary"]["rate_per_minute"] = rate_per_minute
    return result
