"""Where a request or a worker spends its time: py-spy under the benchmark's own load.

``python -m bench.profile api [--backend embedded|pubsub] [--path /ingest]`` starts
the API as ``make bench`` does, drives it with wrk (JSON, 16 connections) and
samples every gunicorn worker with py-spy (``--gil``: only the thread holding the
GIL, so the shares are of CPU, not of waiting); ``python -m bench.profile worker``
fills the queue and samples ``run_worker`` draining it. Both print the functions
with the largest share of samples (inclusive, and where the time is spent
directly), and keep py-spy's raw collapsed stacks for flame-graph tools.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.environment import EMBEDDED, PUBSUB, Emulators, Probe, Workspace
from bench.plan import TENANTS
from bench.processes import VENV_BIN, Gunicorn, Worker
from bench.wrk import run_wrk


def py_spy(
    pid: int, seconds: float, out: Path, *, subprocesses: bool, idle: bool = False, gil: bool = False
) -> subprocess.Popen:
    command = [
        str(VENV_BIN / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(round(seconds)),
        "--rate",
        "200",
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
    ]
    if subprocesses:
        command.append("--subprocesses")
    if idle:
        command.append("--idle")
    if gil:
        command.append("--gil")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def summarise(raw: Path, top: int = 30) -> str:
    """Inclusive and self shares per function from py-spy's collapsed stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        # "function (path:line)" -> "function (path)"; process headers dropped.
        frames = [
            frame.rsplit(":", 1)[0] + ")" if frame.endswith(")") else frame
            for frame in stack.split(";")
            if not frame.startswith("process ")
        ]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\n-- {title} --")
        for frame, count in counter.most_common(top):
            lines.append(f"{count / total:6.1%}  {frame}")
    return "\n".join(lines)


def profile_api(
    workspace: Workspace,
    backend: str,
    path: str,
    seconds: float,
    out_dir: Path,
    *,
    mode: str = "json",
    gil: bool = False,
) -> Path:
    env = workspace.phase_env(backend, f"profile-api-{backend}")
    with Probe(env, workspace.log("probe-profile")) as probe:
        probe.call("setup")
    server = Gunicorn("api-profile", env, workspace.log("api-profile"))
    server.start()
    try:
        run_wrk(server.url(path), mode=mode, connections=16, seconds=2, prefix="warm")
        raw = out_dir / f"profile-api-{backend}{'-gil' if gil else ''}.txt"
        spy = py_spy(server.pid, seconds, raw, subprocesses=True, gil=gil)
        result = run_wrk(server.url(path), mode=mode, connections=16, seconds=seconds, prefix="prof")
        spy.wait(timeout=seconds + 60)
        print(f"wrk under py-spy: {result.rps} req/s, p99 {result.p99_ms} ms")
        return raw
    finally:
        server.stop()


def profile_worker(
    workspace: Workspace, backend: str, concurrency: int, logs: int, out_dir: Path, *, idle: bool = False
) -> Path:
    env = workspace.phase_env(backend, f"profile-worker-{backend}")
    raw = out_dir / f"profile-worker-{backend}-c{concurrency}.txt"
    with Probe(env, workspace.log("probe-profile")) as probe:
        probe.call("setup")
        probe.call("fill", count=logs, tenants=TENANTS, prefix="prof")
        worker = Worker(
            "worker-profile", env, workspace.log("worker-profile"), ["--concurrency", str(concurrency)]
        )
        started = time.time()
        worker.start()
        try:
            spy = py_spy(worker.pid, 15, raw, subprocesses=False, idle=idle)
            waited = threading.Thread(target=spy.wait, kwargs={"timeout": 90})
            waited.start()
            done = probe.call("wait_processed", count=logs, tenants=TENANTS, timeout=120)
            waited.join()
            print(f"worker processed {done['processed']} logs in {done['done_at'] - started:.1f} s")
        finally:
            worker.stop()
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=("api", "worker"))
    parser.add_argument("--backend", choices=(EMBEDDED, PUBSUB), default=EMBEDDED)
    parser.add_argument("--path", default="/ingest")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--logs", type=int, default=10000)
    parser.add_argument("--out", default=".")
    parser.add_argument("--idle", action="store_true", help="also sample waiting threads (wall-clock view)")
    parser.add_argument(
        "--gil", action="store_true", help="only threads holding the GIL (where the CPU goes, no waits)"
    )
    parser.add_argument("--mode", choices=("json", "text"), default="json", help="api: the request body")
    options = parser.parse_args()
    if shutil.which("py-spy", path=str(VENV_BIN)) is None:
        sys.exit("py-spy is not installed: make install (requirements-dev.txt pins it)")
    workspace = Workspace()
    out_dir = Path(options.out)
    try:
        if options.backend == PUBSUB:
            workspace.emulators = Emulators(workspace.dir)
            workspace.emulators.start_in_background()
        workspace.migrate_template()
        if workspace.emulators is not None and (reason := workspace.emulators.wait()):
            sys.exit(reason)
        if options.target == "api":
            raw = profile_api(
                workspace,
                options.backend,
                options.path,
                options.seconds,
                out_dir,
                mode=options.mode,
                gil=options.gil,
            )
        else:
            raw = profile_worker(
                workspace, options.backend, options.concurrency, options.logs, out_dir, idle=options.idle
            )
    finally:
        workspace.cleanup()
    print(summarise(raw))
    print(f"\nraw collapsed stacks: {raw}")


if __name__ == "__main__":
    main()
