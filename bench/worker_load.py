"""Section 3: how fast one ``run_worker`` drains a backlog, and the emulator's own pull ceiling."""

from __future__ import annotations

import os
import time

from bench.environment import Probe, Workspace
from bench.plan import TENANTS, Plan
from bench.processes import Worker, machine_busy_seconds, tree_cpu_seconds


def drain(workspace: Workspace, backend: str, concurrency: int, plan: Plan) -> dict:
    """Fill the queue with ``plan.drain_logs`` logs, then time one worker emptying it.

    The rate is taken between the first and the last ``processed_at`` in the store,
    read after the drain, so neither the worker's start-up nor the probe's polling
    resolution counts; the probe polls only once a second meanwhile, since its reads
    load the same store (on Firestore, the same emulator) the worker writes to. The
    wall time from start to done is reported beside it. A drain still running after
    ``plan.drain_cap_seconds`` is stopped and reported incomplete, at its rate so far.
    """
    count = plan.drain_logs
    env = workspace.phase_env(backend, f"drain-{backend}-c{concurrency}")
    with Probe(env, workspace.log(f"probe-drain-{backend}-c{concurrency}")) as probe:
        probe.call("setup")
        filled = probe.call("fill", count=count, tenants=TENANTS, prefix=f"drain{concurrency}")
        worker = Worker(
            f"worker-drain-c{concurrency}",
            env,
            workspace.log(f"worker-drain-{backend}-c{concurrency}"),
            ["--concurrency", str(concurrency)],
        )
        started = time.time()
        worker.start()
        try:
            probe.call("wait_processed", count=1, tenants=TENANTS, timeout=60, poll=0.05)
            watched = {"run_worker": worker.pid}
            if backend == "pubsub" and workspace.emulators is not None:
                watched |= workspace.emulators.pids()
            cpu = CpuWindow(watched)
            done = probe.call(
                "wait_processed", count=count, tenants=TENANTS, timeout=plan.drain_cap_seconds, poll=1.0
            )
            cpu_cores = cpu.cores()
            peak_rss = worker.peak_rss_mb()
            exited = None if worker.running() else worker.log_tail(5)
        finally:
            worker.stop()
        times = sorted(probe.call("processed_times", tenants=TENANTS, call_timeout=600)["times"].values())
    if exited is not None:
        raise RuntimeError(f"run_worker exited during the drain:\n{exited}")
    seconds = times[-1] - times[0] if len(times) > 1 else 0.0
    steady = len(times) - 1
    return {
        "backend": backend,
        "concurrency": concurrency,
        "logs": count,
        "fill_seconds": filled["seconds"],
        "processed": done["processed"],
        "complete": done["complete"],
        "logs_per_second": round(steady / seconds, 1) if seconds > 0 else None,
        "wall_seconds": round(done["done_at"] - started, 2),
        "worker_peak_rss_mb": peak_rss,
        "cpu_cores": cpu_cores,
        "machine_cores": os.cpu_count(),
    }


MACHINE = "whole machine"


class CpuWindow:
    """Cores each watched process, and the whole machine, kept busy from now until ``cores()``.

    On the emulators the worker shares the machine with two Java servers: this is
    the measurement that says which of them takes the cores. The window ends when
    the probe sees the drain done (it polls once a second), so the figures are
    averages over slightly more than the drain itself.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started = time.monotonic()
        self.before = self._snapshot()

    def _snapshot(self) -> dict[str, float]:
        return {name: tree_cpu_seconds(pid) for name, pid in self.pids.items()} | {
            MACHINE: machine_busy_seconds()
        }

    def cores(self) -> dict[str, float]:
        after = self._snapshot()
        seconds = max(time.monotonic() - self.started, 1e-9)
        return {name: round((after[name] - self.before[name]) / seconds, 2) for name in after}


def raw_pull(workspace: Workspace, plan: Plan) -> dict:
    env = workspace.phase_env("pubsub", "raw-pull")
    with Probe(env, workspace.log("probe-raw-pull")) as probe:
        return probe.call("raw_pull", count=plan.raw_pull_logs, call_timeout=600)


# (results per commit, threads): what one worker at --concurrency 16 can batch, and the most
# the store takes (Firestore's commit limit leaves room for 80 results with their bookkeeping).
STORE_WRITE_SHAPES = ((16, 1), (80, 4))


def store_write_rate(workspace: Workspace, plan: Plan) -> list[dict]:
    """The Firestore emulator's own ceiling for the worker's writes: ``save_results`` alone."""
    env = workspace.phase_env("pubsub", "store-write")
    count = min(plan.raw_pull_logs, 5000)
    watched = workspace.emulators.pids() if workspace.emulators is not None else {}
    shapes = []
    with Probe(env, workspace.log("probe-store-write")) as probe:
        for batch, threads in STORE_WRITE_SHAPES:
            cpu = CpuWindow(watched)
            shape = probe.call(
                "store_write_rate", count=count, batch=batch, threads=threads, call_timeout=600
            )
            shapes.append(shape | {"cpu_cores": cpu.cores()})
    return shapes
