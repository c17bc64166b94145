"""End-to-end latency (section 3) and the specified workload (section 4).

Both run the API and one ``run_worker`` together under open-loop load and then
read every processed record back from the store: end-to-end time is the record's
``processed_at`` minus the moment its 202 reached the client (one machine, one
clock). The backlog at time t is the logs accepted by t minus the logs processed
by t, so it is the same measure on every backend whatever its queue can report.
"""

from __future__ import annotations

import bisect
import time

from bench.environment import Probe, Workspace
from bench.ingest_load import INGEST, open_loop, smoke
from bench.plan import (
    TENANTS,
    WORKLOAD_DELAY_PER_CHAR,
    WORKLOAD_MAX_CHARS,
    WORKLOAD_MIN_CHARS,
    WORKLOAD_RATE_PER_MINUTE,
    Plan,
    workload_concurrency,
)
from bench.processes import Gunicorn, Worker
from bench.stats import percentiles


def api_with_worker(
    workspace: Workspace,
    backend: str,
    name: str,
    *,
    rate_per_minute: float,
    seconds: float,
    concurrency: int,
    delay_per_char: float = 0.0,
    min_chars: int = 33,
    max_chars: int = 33,
    sample_every: float | None = None,
) -> dict:
    """Open-loop load on the API while one worker processes it; everything read back after."""
    env = workspace.phase_env(backend, name, delay_per_char=delay_per_char)
    server = Gunicorn(f"api-{name}", env, workspace.log(f"api-{name}"))
    worker = Worker(
        f"worker-{name}", env, workspace.log(f"worker-{name}"), ["--concurrency", str(concurrency)]
    )
    with Probe(env, workspace.log(f"probe-{name}")) as probe:
        probe.call("setup")
        try:
            server.start()
            smoke(server, INGEST)
            worker.start()
            # The two smoke logs first: counting them as part of the load would end the
            # wait below one log early.
            baseline = probe.call("wait_processed", count=2, tenants=TENANTS, timeout=60)["processed"]
            if sample_every:
                probe.call("watch_start", tenants=TENANTS, interval=sample_every)
            load_started = time.time()
            load = open_loop(
                server.url(INGEST),
                rate_per_minute=rate_per_minute,
                seconds=seconds,
                out=workspace.dir / f"{name}-open-loop.json",
                prefix=name,
                records=True,
                min_chars=min_chars,
                max_chars=max_chars,
            )
            accepted = [row for row in load["records"] if row["status"] == 202]
            longest_work = max_chars * delay_per_char
            waited = probe.call(
                "wait_processed",
                count=baseline + len(accepted),
                tenants=TENANTS,
                timeout=longest_work + 30,
            )
            samples = probe.call("watch_stop")["samples"] if sample_every else []
            times = probe.call("processed_times", tenants=TENANTS, call_timeout=600)["times"]
            if not worker.running():
                raise RuntimeError(f"run_worker exited during {name}:\n{worker.log_tail(5)}")
            memory = {
                "api_workers_peak_rss_mb": server.worker_peak_rss_mb(),
                "worker_peak_rss_mb": worker.peak_rss_mb(),
            }
        finally:
            worker.stop()
            server.stop()
    return {
        "load": load,
        "accepted": accepted,
        "processed_all": waited["complete"],
        "times": times,
        "samples": samples,
        "baseline": baseline,
        "load_started": load_started,
        "memory": memory,
        "concurrency": concurrency,
    }


def end_to_end(accepted: list[dict], times: dict, delay_per_char: float = 0.0) -> dict:
    """Percentiles of 202-to-processed (and of that minus the simulated work)."""
    totals, overheads, missing = [], [], 0
    for row in accepted:
        processed_at = times.get(f"{row['tenant_id']}/{row['log_id']}")
        if processed_at is None:
            missing += 1
            continue
        # The worker may store a log before its 202 has reached the client: 0, not negative.
        total = max(0.0, processed_at - row["answered_at"]) * 1000
        totals.append(total)
        overheads.append(max(0.0, total - row["chars"] * delay_per_char * 1000))
    total_figures = percentiles(totals, (50, 99, 100))
    overhead_figures = percentiles(overheads, (50, 99, 100))
    return {
        "p50_ms": total_figures[50],
        "p99_ms": total_figures[99],
        "max_ms": total_figures[100],
        "beyond_work_p50_ms": overhead_figures[50],
        "beyond_work_p99_ms": overhead_figures[99],
        "not_processed": missing,
    }


def e2e_at_1000_per_minute(workspace: Workspace, backend: str, plan: Plan) -> dict:
    """Section 2's 1,000/min row and section 3's end-to-end figure, from one run."""
    run = api_with_worker(
        workspace,
        backend,
        f"e2e-{backend}",
        rate_per_minute=1000,
        seconds=plan.open_seconds,
        concurrency=plan.e2e_worker_concurrency,
    )
    return {
        "open_loop": run["load"]["summary"],
        "end_to_end": end_to_end(run["accepted"], run["times"]),
        "worker_concurrency": run["concurrency"],
        "memory": run["memory"],
    }


def backlog_series(accepted: list[dict], samples: list[dict], baseline: int, start: float) -> list[dict]:
    """(seconds since the load started, logs accepted but not yet processed) per sample."""
    answered = sorted(row["answered_at"] for row in accepted)
    series = []
    for sample in samples:
        accepted_by_then = bisect.bisect_right(answered, sample["at"])
        processed = sample["processed"] - baseline
        series.append(
            {
                "t": round(sample["at"] - start, 2),
                "accepted": accepted_by_then,
                "processed": processed,
                "backlog": max(0, accepted_by_then - processed),
                "queue_depth": sample["depth"],
            }
        )
    return series


def specified_workload(workspace: Workspace, backend: str, plan: Plan) -> dict:
    """0.05 s per character, 1,000/min, half JSON, 20 tenants, 40-120 characters, one worker."""
    in_processing, concurrency = workload_concurrency()
    run = api_with_worker(
        workspace,
        backend,
        f"workload-{backend}",
        rate_per_minute=WORKLOAD_RATE_PER_MINUTE,
        seconds=plan.workload_seconds,
        concurrency=concurrency,
        delay_per_char=WORKLOAD_DELAY_PER_CHAR,
        min_chars=WORKLOAD_MIN_CHARS,
        max_chars=WORKLOAD_MAX_CHARS,
        sample_every=1.0,
    )
    series = backlog_series(run["accepted"], run["samples"], run["baseline"], run["load_started"])
    during_load = [point["backlog"] for point in series if point["t"] <= plan.workload_seconds]
    return {
        "backend": backend,
        "seconds": plan.workload_seconds,
        "open_loop": run["load"]["summary"],
        "end_to_end": end_to_end(run["accepted"], run["times"], WORKLOAD_DELAY_PER_CHAR),
        "processed_all": run["processed_all"],
        "concurrency": concurrency,
        "littles_law_in_processing": round(in_processing, 1),
        "max_backlog": max(during_load, default=None),
        "final_backlog": during_load[-1] if during_load else None,
        "backlog": series,
        "memory": run["memory"],
    }
