"""``python -m bench [--quick]``: run every section, print the tables, write the results.

Order matters on a small machine: each measurement runs alone (nothing else of
the harness is busy meanwhile), and the emulators start in the background while
the database template is migrated.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import batches, fairness, redaction, report
from bench import export as export_bench
from bench.environment import EMBEDDED, PUBSUB, Emulators, Probe, Workspace
from bench.ingest_load import INGEST, closed_loop, open_loop
from bench.plan import FULL, QUICK, Plan
from bench.processes import Gunicorn
from bench.svg import line_chart
from bench.worker_load import drain, raw_pull, store_write_rate
from bench.workload import e2e_at_1000_per_minute, specified_workload
from bench.wrk import WrkMissing, wrk_path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SECTIONS = ("redaction", "ingest", "open", "e2e", "drain", "workload", "batches", "fairness", "export")


class Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - self.started:6.0f}s] {message}\n")
        sys.stderr.flush()


def machine() -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
    except (OSError, StopIteration):
        memory_kb = 0
    cores = os.cpu_count()
    info = {
        "cpu": cpu,
        "cores": cores,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
    info["summary"] = f"{cpu}, {cores} cores, {info['memory_gb']} GB, Python {info['python']}"
    return info


def ingest_phase(
    workspace: Workspace,
    backend: str,
    plan: Plan,
    results: dict,
    progress: Progress,
    *,
    closed: bool = True,
    open_: bool = True,
) -> None:
    """Section 1 (closed loop, with the ceilings) and section 2's 60,000/min row, on one server.

    The bare ceiling project (bench/bare/) runs beside the API for the closed
    loop only, under the same gunicorn configuration, and is stopped before the
    open loop.
    """
    env = workspace.phase_env(backend, f"ingest-{backend}")
    with Probe(env, workspace.log(f"probe-ingest-{backend}")) as probe:
        probe.call("setup")
    server = Gunicorn(f"api-{backend}", env, workspace.log(f"api-ingest-{backend}"))
    bare = Gunicorn(
        f"bare-{backend}",
        workspace.bare_env(f"bare-{backend}"),
        workspace.log(f"bare-ingest-{backend}"),
        app="bench.bare.wsgi",
    )
    try:
        server.start()
        if closed:
            bare.start()
            progress(f"closed loop on {backend}: /ingest and the ceilings, {plan.closed_seconds:g} s a row")
            # The ceilings are the same code on every server: the second phase measures them
            # again only where a target reads the ratio (16 connections), to keep the run short.
            first = not results["closed_loop"]
            ceiling_at = plan.connections if first else tuple(c for c in plan.connections if c == 16)
            results["closed_loop"][backend] = closed_loop(
                server, bare, plan, backend, ceiling_at=ceiling_at, durable_batch=first
            )
            bare.stop()
        if not open_:
            return
        rate = max(plan.open_rates_per_minute)
        progress(f"open loop {rate:,}/min on {backend} for {plan.open_seconds:g} s")
        load = open_loop(
            server.url(INGEST),
            rate_per_minute=rate,
            seconds=plan.open_seconds,
            out=workspace.dir / f"open-{backend}-{rate}.json",
            prefix=f"open{rate}",
        )
        results["open_loop"].setdefault(backend, {})[str(rate)] = load["summary"]
        memory = results["memory"].setdefault(backend, {"api_workers_peak_rss_mb": []})
        memory["api_workers_peak_rss_mb"].extend(server.worker_peak_rss_mb())
    finally:
        bare.stop()
        server.stop()


def e2e_phase(workspace: Workspace, backend: str, plan: Plan, results: dict, progress: Progress) -> None:
    progress(f"open loop 1,000/min on {backend} for {plan.open_seconds:g} s with run_worker (end to end)")
    figures = e2e_at_1000_per_minute(workspace, backend, plan)
    results["open_loop"].setdefault(backend, {})["1000"] = figures.pop("open_loop")
    memory = results["memory"].setdefault(backend, {"api_workers_peak_rss_mb": []})
    memory["api_workers_peak_rss_mb"].extend(figures["memory"]["api_workers_peak_rss_mb"])
    results["end_to_end"][backend] = figures


def drain_phase(workspace: Workspace, backend: str, plan: Plan, results: dict, progress: Progress) -> None:
    rows = []
    for concurrency in plan.drain_concurrency:
        progress(f"drain {plan.drain_logs:,} logs on {backend} at concurrency {concurrency}")
        rows.append(drain(workspace, backend, concurrency, plan))
    results["drain"][backend] = rows
    memory = results["memory"].setdefault(backend, {"api_workers_peak_rss_mb": []})
    memory["run_worker_c16_peak_rss_mb"] = next(
        (row["worker_peak_rss_mb"] for row in rows if row["concurrency"] == 16), None
    )
    if backend == PUBSUB:
        progress(f"raw ack-only pull of {plan.raw_pull_logs:,} messages from the emulator")
        methods = raw_pull(workspace, plan)
        # run_worker consumes with streaming pull: that is the like-for-like ceiling.
        results["raw_pull"] = {
            "methods": methods,
            "ceiling_method": "streaming",
            "ceiling": methods["streaming"]["rate"],
        }
        progress("the Firestore emulator's write rate for batches of results, no queue")
        results["store_write"] = store_write_rate(workspace, plan)


def workload_phase(
    workspace: Workspace, backend: str, plan: Plan, results: dict, stamp: str, progress: Progress
) -> None:
    progress(f"specified workload on {backend} for {plan.workload_seconds:g} s (then drained)")
    workload = specified_workload(workspace, backend, plan)
    memory = results["memory"].setdefault(backend, {"api_workers_peak_rss_mb": []})
    memory["api_workers_peak_rss_mb"].extend(workload["memory"]["api_workers_peak_rss_mb"])
    memory["run_worker_workload_peak_rss_mb"] = workload["memory"]["worker_peak_rss_mb"]
    svg = line_chart(
        {
            "backlog (accepted, not yet processed)": [(p["t"], p["backlog"]) for p in workload["backlog"]],
        },
        title=(
            f"Backlog, {backend}: 1,000 req/min, 0.05 s/char, one run_worker "
            f"--concurrency {workload['concurrency']}"
        ),
        x_label="seconds since the load started",
        y_label="logs",
        marker_x=plan.workload_seconds,
        marker_label="load stops",
    )
    plot = RESULTS_DIR / f"{stamp}-backlog-{backend}.svg"
    plot.parent.mkdir(parents=True, exist_ok=True)
    plot.write_text(svg)
    workload["plot"] = str(plot.relative_to(RESULTS_DIR.parent.parent))
    results["workload"][backend] = workload


def wait_for_emulators(workspace: Workspace, backends: list[str], results: dict, progress: Progress) -> bool:
    """True once the emulators answer; otherwise the Pub/Sub rows are dropped, with the reason."""
    if workspace.emulators is None:
        return False
    reason = workspace.emulators.wait()
    if reason and PUBSUB in backends:
        backends.remove(PUBSUB)
        results["skipped"].append(reason)
        progress(f"SKIP: {reason}")
    return not reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="dataproc benchmark (issues 8 and 19)"
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs, same table (make bench-quick)")
    parser.add_argument("--backends", default="embedded,pubsub", help="comma-separated: embedded,pubsub")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated: {','.join(SECTIONS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    parser.add_argument(
        "--closed-seconds", type=float, help="seconds of each closed-loop row (default: the plan's)"
    )
    parser.add_argument(
        "--connections", help="comma-separated closed-loop connection counts (default: the plan's, 16,64)"
    )
    options = parser.parse_args(argv)
    plan = QUICK if options.quick else FULL
    if options.closed_seconds:
        plan = dataclasses.replace(plan, closed_seconds=options.closed_seconds)
    if options.connections:
        plan = dataclasses.replace(plan, connections=tuple(int(c) for c in options.connections.split(",")))
    backends = [name for name in options.backends.split(",") if name]
    sections = set(options.sections.split(","))
    progress = Progress()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")

    try:
        wrk_path()
    except WrkMissing as exc:
        sys.stderr.write(f"{exc}\n")
        return 2

    results: dict = {
        "run": {"started_at": stamp, "plan": plan.to_dict(), "machine": machine(), "backends": backends},
        "skipped": [],
        "closed_loop": {},
        "open_loop": {},
        "end_to_end": {},
        "drain": {},
        "raw_pull": None,
        "store_write": None,
        "workload": {},
        "memory": {},
        "redaction": None,
        "batches": {},
        "fairness": None,
        "export": None,
    }
    workspace = Workspace(keep=options.keep)
    try:
        if "redaction" in sections:  # first, while nothing else of the harness is running
            progress("redaction alone, in this process (bench.redaction)")
            results["redaction"] = redaction.measure(quick=options.quick)
        if PUBSUB in backends:
            reason = Emulators.missing_reason()
            if reason is None:
                progress("starting the Pub/Sub and Firestore emulators")
                workspace.emulators = Emulators(workspace.dir)
                workspace.emulators.start_in_background()
            else:
                backends.remove(PUBSUB)
                results["skipped"].append(reason)
                progress(f"SKIP: {reason}")
        progress(f"migrating a fresh SQLite database in {workspace.dir}")
        workspace.migrate_template()
        if not plan.overlap_emulator_start:
            wait_for_emulators(workspace, backends, results, progress)
        for backend in list(backends):
            if backend == PUBSUB and not wait_for_emulators(workspace, backends, results, progress):
                continue
            if sections & {"ingest", "open"}:
                ingest_phase(
                    workspace,
                    backend,
                    plan,
                    results,
                    progress,
                    closed="ingest" in sections,
                    open_="open" in sections,
                )
            if "e2e" in sections:
                e2e_phase(workspace, backend, plan, results, progress)
            if "drain" in sections:
                drain_phase(workspace, backend, plan, results, progress)
            if "batches" in sections:
                progress(
                    f"batches on {backend}: 500-record NDJSON, JSON array, OTLP protobuf at 8 connections"
                )
                results["batches"][backend] = batches.measure(workspace, backend, plan)
        if "workload" in sections and EMBEDDED in backends:
            workload_phase(workspace, EMBEDDED, plan, results, stamp, progress)
        if "fairness" in sections and EMBEDDED in backends:
            progress("noisy neighbours: one tenant's backlog, another tenant's one log (embedded)")
            results["fairness"] = fairness.measure(workspace, plan.name)
        if "export" in sections and EMBEDDED in backends:
            results["export"] = export_bench.measure(workspace, quick=options.quick, progress=progress)
    finally:
        results["run"]["seconds"] = round(time.monotonic() - progress.started)
        results["run"]["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
        results["targets"] = report.evaluate(results)
        path = report.write(results, RESULTS_DIR, stamp)
        workspace.cleanup()
    print(report.render(results))
    print(f"\nResults: {path.relative_to(RESULTS_DIR.parent.parent)} ({results['run']['seconds']} s)")
    return 0
