"""``python -m bench.export [--quick]``: the NDJSON export's memory, 10,000 and 100,000 records.

The API (gunicorn with ``gunicorn.conf.py``, one worker process) on a fresh SQLite
copy of the migrated database, seeded with one tenant of 10,000 records and one of
100,000 (about 100 characters of text each, as the worker stores them). Each
tenant is exported once through ``GET /logs?format=ndjson`` by a client reading as
fast as it can, while the worker process's resident memory (``VmRSS``) is sampled
every 20 ms; its high-water mark (``VmHWM``) is read before and after, so no spike
between samples goes unseen. The claim: memory stays flat, i.e. the export of
100,000 records takes the worker no higher than the export of 10,000 did (the
store is read a page at a time and each page is sent before the next is read).

``measure()``, ``render()`` and ``evaluate()`` give ``python -m bench`` the same
rows, table and target check; ``--quick`` exports 2,000 and 20,000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.environment import EMBEDDED, Workspace
from bench.processes import ROOT, Gunicorn, children_of

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SIZES = (10_000, 100_000)
QUICK_SIZES = (2_000, 20_000)
# Flat: the larger export may take the worker at most this much above the smaller one's peak.
TARGET_EXTRA_MB = 10.0
SAMPLE_SECONDS = 0.02
TEXTS = [
    "GET /api/v1/orders/{n} 200 in 12 ms for user [REDACTED] from [REDACTED] via checkout-web-3",
    "job {n} done: 1,204 rows exported to s3://reports/daily, notified [REDACTED] (ops on call)",
    "payment {n} declined: card [REDACTED] expired, customer [REDACTED] asked to update billing",
]


def tenant_of(count: int) -> str:
    return f"export-{count}"


def status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def seed(count: int) -> None:
    """Run inside a Django process (``python -m bench.export seed N``): the tenant's records."""
    import django

    django.setup()
    from tenants.models import StoredLog

    tenant_id = tenant_of(count)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    batch = []
    for index in range(count):
        text = TEXTS[index % len(TEXTS)].format(n=index)
        batch.append(
            StoredLog(
                tenant_id=tenant_id,
                log_id=f"log-{index:07d}",
                source="json_upload",
                original_text=text,
                modified_data=text,
                status="processed",
                attempts=1,
                received_at=start + timedelta(milliseconds=100 * index),
                processed_at=start + timedelta(milliseconds=100 * index + 50),
                message_id=f"m-{index}",
                severity="INFO",
                attributes={"host": f"web-{index % 7}", "path": "/api/v1/orders"},
            )
        )
        if len(batch) == 5000:
            StoredLog.objects.bulk_create(batch)
            batch = []
    if batch:
        StoredLog.objects.bulk_create(batch)


def export_once(server: Gunicorn, worker_pid: int, count: int) -> dict:
    """One full export, read by this process; the worker's memory sampled meanwhile."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = status_kb(worker_pid, "VmRSS")
            if rss is not None:
                samples.append(rss)
            done.wait(SAMPLE_SECONDS)

    rss_before = status_kb(worker_pid, "VmRSS")
    hwm_before = status_kb(worker_pid, "VmHWM")
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    request = urllib.request.Request(
        server.url("/logs?format=ndjson"), headers={"X-Tenant-ID": tenant_of(count)}
    )
    started = time.monotonic()
    lines = size = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        while chunk := response.read(256 * 1024):
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    hwm_after = status_kb(worker_pid, "VmHWM")
    if lines != count:
        raise RuntimeError(f"the export of {count} records gave {lines} lines")
    peak = max([rss_before, *samples])
    if hwm_after > hwm_before:  # a new high during the export: VmHWM holds it exactly
        peak = max(peak, hwm_after)
    return {
        "records": count,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "records_per_second": round(count / seconds) if seconds else None,
        "rss_before_mb": round(rss_before / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "rss_growth_mb": round((peak - rss_before) / 1024, 1),
        "hwm_before_mb": round(hwm_before / 1024, 1),
        "hwm_after_mb": round(hwm_after / 1024, 1),
        "samples": len(samples),
    }


def measure(workspace: Workspace, *, quick: bool = False, progress=print) -> dict:
    sizes = QUICK_SIZES if quick else SIZES
    env = workspace.phase_env(EMBEDDED, "export")
    env = {**env, "DJANGO_SETTINGS_MODULE": "bench.settings", "WEB_CONCURRENCY": "1"}
    for count in sizes:
        progress(f"seeding {count:,} records for the export")
        subprocess.run(
            [sys.executable, "-m", "bench.export", "seed", str(count)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    server = Gunicorn("api-export", env, workspace.log("api-export"))
    server.start()
    try:
        (worker_pid,) = children_of(server.pid)
        # Warm up: the first request imports the views and opens the database.
        urllib.request.urlopen(
            urllib.request.Request(server.url("/logs?limit=1"), headers={"X-Tenant-ID": tenant_of(sizes[0])}),
            timeout=60,
        ).read()
        rows = []
        for count in sizes:
            progress(f"exporting {count:,} records as NDJSON")
            rows.append(export_once(server, worker_pid, count))
    finally:
        server.stop()
    small, large = rows[0], rows[-1]
    return {
        "rows": rows,
        "extra_mb": round(large["rss_peak_mb"] - small["rss_peak_mb"], 1),
        "target_extra_mb": TARGET_EXTRA_MB,
    }


def render(section: dict) -> str:
    from bench.report import table

    body = [
        [
            f"{row['records']:,}",
            row["megabytes"],
            row["seconds"],
            f"{row['records_per_second']:,}",
            row["rss_before_mb"],
            row["rss_peak_mb"],
            row["rss_growth_mb"],
            f"{row['hwm_before_mb']} -> {row['hwm_after_mb']}",
        ]
        for row in section["rows"]
    ]
    return (
        "\n9. NDJSON export (GET /logs?format=ndjson), one API worker process, SQLite\n"
        + table(
            ["records", "MB sent", "s", "records/s", "RSS before MB", "RSS peak MB", "growth MB", "VmHWM MB"],
            body,
        )
        + f"\n   the larger export's peak above the smaller one's: {section['extra_mb']} MB"
    )


def evaluate(section: dict | None, *, label: str = "9") -> list[dict]:
    if not section:
        return []
    largest = section["rows"][-1]["records"]
    extra = section["extra_mb"]
    return [
        {
            "section": label,
            "what": f"export of {largest:,} records: API worker RSS above the smaller export's peak, MB",
            "value": extra,
            "shown": f"{extra}",
            "target": f"<= {section['target_extra_mb']:g} (flat)",
            "met": extra <= section["target_extra_mb"],
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "seed"])
    parser.add_argument("count", nargs="?", type=int, default=0, help="seed: how many records")
    parser.add_argument(
        "--quick", action="store_true", help=f"export {QUICK_SIZES[0]:,} and {QUICK_SIZES[1]:,}"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table, write no JSON")
    options = parser.parse_args(argv)
    if options.command == "seed":
        seed(options.count)
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    load_before = [round(value, 2) for value in os.getloadavg()]
    workspace = Workspace()
    try:
        workspace.migrate_template()
        section = measure(
            workspace, quick=options.quick, progress=lambda message: print(message, file=sys.stderr)
        )
    finally:
        workspace.cleanup()
    results = {
        "run": {
            "started_at": stamp,
            "load_average_at_start": load_before,
            "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        },
        "export": section,
        "targets": evaluate(section),
    }
    print(render(section))
    for check in results["targets"]:
        print(
            f"  {check['what']}: {check['shown']} (target {check['target']}: {'PASS' if check['met'] else 'MISS'})"
        )
    if not options.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"export-{stamp}.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nResults: {path.relative_to(RESULTS_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
