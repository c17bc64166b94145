"""Sections 1 and 2: ``/ingest`` (and the ceilings bounding it) under closed-loop and open-loop load."""

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
from bench.report import DURABLE_BATCH_CEILING, MIDDLEWARE, NO_MIDDLEWARE
from bench.wrk import BATCH_SCRIPT, SCRIPT, run_wrk

INGEST = "/ingest"
CEILING = "/bench/ceiling"
DURABLE_BATCH = "/bench/durable-batch"
# Issue 19's batch rows: 500-record batches at 8 connections.
BATCH_RECORDS = 500
BATCH_CONNECTIONS = 8


def smoke(server: Gunicorn, path: str, *, text: bool = True) -> None:
    """One JSON and one text request must answer 202: wrk would count a 3xx as a success."""
    samples = [(b'{"tenant_id":"bench-t00","log_id":"smoke-%s","text":"smoke test"}', "application/json")]
    if text:
        samples.append((b"smoke test", "text/plain"))
    for body, content_type in samples:
        _expect_202(server, path, body.replace(b"%s", uuid.uuid4().hex.encode()), content_type)


def smoke_batch(server: Gunicorn, path: str) -> None:
    tag = uuid.uuid4().hex
    body = b"".join(
        b'{"tenant_id":"bench-t00","log_id":"smoke-%s-%d","text":"smoke test"}\n' % (tag.encode(), number)
        for number in range(2)
    )
    _expect_202(server, path, body, "application/x-ndjson")


def _expect_202(server: Gunicorn, path: str, body: bytes, content_type: str) -> None:
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


def measure(
    server: Gunicorn,
    path: str,
    *,
    variant: str,
    endpoint: str,
    bound: str | None,
    mode: str,
    connections: int,
    seconds: float,
    prefix: str,
    logs_per_request: int = 1,
) -> dict:
    """One wrk row, in the shape bench/report.py reads (see its ``ceiling_ratio``)."""
    batch = logs_per_request > 1
    cpu_before = server.cpu_seconds()
    result = run_wrk(
        server.url(path),
        mode=mode,
        connections=connections,
        seconds=seconds,
        prefix=prefix,
        tenants=TENANTS,
        script=BATCH_SCRIPT if batch else SCRIPT,
        script_args=(str(logs_per_request),) if batch else (),
    )
    cpu = server.cpu_seconds() - cpu_before
    return {
        "variant": variant,
        "endpoint": endpoint,
        "bound": bound,
        "mode": mode,
        "connections": connections,
        "logs_per_request": logs_per_request,
        **result.to_dict(),
        # The server's own CPU per request: far steadier than req/s on a shared machine.
        "server_cpu_ms_per_request": round(cpu * 1000 / result.requests, 3) if result.requests else None,
    }


def closed_loop(
    server: Gunicorn,
    bare: Gunicorn,
    plan: Plan,
    label: str,
    *,
    ceiling_at: tuple[int, ...],
    durable_batch: bool,
) -> list[dict]:
    """wrk rows: every connection count and content type of ``/ingest``, each after the ceilings bounding it.

    At each connection count in ``ceiling_at`` the JSON row comes right after the
    no-middleware ceiling (``bare``) and the middleware ceiling (the service's
    own settings), so the three ratios come from rows measured one after the
    other. With ``durable_batch`` the durable batch ceiling is measured too, at
    issue 19's batch shape.
    """
    smoke(server, INGEST)
    if ceiling_at:
        smoke(server, CEILING, text=False)
        smoke(bare, CEILING, text=False)
    if durable_batch:
        smoke_batch(bare, DURABLE_BATCH)
    run_tag = uuid.uuid4().hex[:6]
    # Warm-up (discarded): imports, connections and first-seen tenants settle first.
    warm = [(server, INGEST)] + ([(bare, CEILING), (server, CEILING)] if ceiling_at else [])
    for target, path in warm:
        run_wrk(
            target.url(path), mode="json", connections=16, seconds=plan.warmup_seconds, prefix=f"w{run_tag}"
        )
    rows = []
    for connections in plan.connections:
        for mode in ("json", "text"):
            targets = [(server, INGEST, label, "/ingest", NO_MIDDLEWARE)]
            if connections in ceiling_at and mode == "json":
                targets[:0] = [
                    (bare, CEILING, NO_MIDDLEWARE, "ceiling, no middleware (bare DRF)", None),
                    (server, CEILING, MIDDLEWARE, "ceiling, middleware (service settings)", NO_MIDDLEWARE),
                ]
            for target, path, variant, endpoint, bound in targets:
                rows.append(
                    measure(
                        target,
                        path,
                        variant=variant,
                        endpoint=endpoint,
                        bound=bound,
                        mode=mode,
                        connections=connections,
                        seconds=plan.closed_seconds,
                        prefix=f"{run_tag}-{variant}-{mode}-{connections}".replace(" ", "_"),
                    )
                )
    if durable_batch:
        rows.append(durable_batch_ceiling(bare, plan, prefix=f"{run_tag}-durable"))
    return rows


def durable_batch_ceiling(
    bare: Gunicorn,
    plan: Plan,
    *,
    prefix: str,
    connections: int = BATCH_CONNECTIONS,
    records: int = BATCH_RECORDS,
) -> dict:
    """The durable batch ceiling row: NDJSON batches into the bare project's SQLite queue table.

    Batch rows name it as their bound (``"bound": DURABLE_BATCH_CEILING``) and
    are compared with it in logs/s at the same connection count.
    """
    run_wrk(
        bare.url(DURABLE_BATCH),
        mode="ndjson",
        connections=connections,
        seconds=plan.warmup_seconds,
        prefix=f"w{prefix}",
        script=BATCH_SCRIPT,
        script_args=(str(records),),
    )
    return measure(
        bare,
        DURABLE_BATCH,
        variant=DURABLE_BATCH_CEILING,
        endpoint=f"ceiling, durable batch ({records} NDJSON lines, SQLite)",
        bound=None,
        mode="ndjson",
        connections=connections,
        seconds=plan.closed_seconds,
        prefix=prefix,
        logs_per_request=records,
    )


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
