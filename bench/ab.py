"""Before/after on the same load: two versions of the API served side by side, measured in turns.

``python -m bench.ab --before REV [--after REV] [--rounds 3] [--seconds 10]`` exports
each revision (``git archive``; ``--after`` defaults to the working tree as it is),
serves both at once under the same gunicorn configuration, beside the bare
no-middleware ceiling (bench/bare/), and measures them in alternating order
(before, after, then after, before, ...), so a machine shared with other
people's work loads both alike. Each round measures the no-middleware ceiling
first; every row shows the load average before and after it. A summary gives
each side's median per target and the after/before ratio; everything is
written to ``bench/results/ab-<stamp>.json``.

Targets (``--targets``): ``ingest-json``, ``ingest-text`` (``/ingest``),
``middleware`` (the ceiling view inside the service's settings).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import uuid
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from bench.environment import Workspace, service_env
from bench.ingest_load import CEILING, INGEST, smoke
from bench.plan import TENANTS
from bench.processes import ROOT, Gunicorn
from bench.report import table
from bench.wrk import run_wrk

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGETS = {
    "ingest-json": (INGEST, "json"),
    "ingest-text": (INGEST, "text"),
    "middleware": (CEILING, "json"),
}


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision`` (a commit, a branch) in ``into``, without touching the repository."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def migrated_database(tree: Path, path: Path, log: Path) -> str:
    url = f"sqlite:///{path}"
    with log.open("wb") as output:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=tree,
            env=service_env(url) | {"QUEUE_BACKEND": "database", "LOG_STORE_BACKEND": "database"},
            stdout=output,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return url


def measure(server: Gunicorn, path: str, mode: str, *, connections: int, seconds: float, tag: str) -> dict:
    before = os.getloadavg()[0]
    cpu_before = server.cpu_seconds()
    result = run_wrk(
        server.url(path), mode=mode, connections=connections, seconds=seconds, prefix=tag, tenants=TENANTS
    )
    cpu = server.cpu_seconds() - cpu_before
    return {
        **result.to_dict(),
        "cpu_ms": round(cpu * 1000 / result.requests, 3) if result.requests else None,
        "load_before": round(before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="revision measured as 'before' (e.g. main, a commit)")
    parser.add_argument("--after", help="revision measured as 'after' (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--targets", default="ingest-json,middleware", help=",".join(TARGETS))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    options = parser.parse_args(argv)
    targets = [name for name in options.targets.split(",") if name]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")

    workspace = Workspace(keep=options.keep)
    servers: dict[str, Gunicorn] = {}
    rows: list[dict] = []
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    try:
        trees = {
            "before": export(options.before, workspace.dir / "before"),
            "after": export(options.after, workspace.dir / "after") if options.after else ROOT,
        }
        for side, tree in trees.items():
            url = migrated_database(tree, workspace.dir / f"{side}.sqlite3", workspace.log(f"migrate-{side}"))
            env = service_env(url) | {"QUEUE_BACKEND": "database", "LOG_STORE_BACKEND": "database"}
            servers[side] = Gunicorn(side, env, workspace.log(f"api-{side}"), cwd=tree)
        servers["bare"] = Gunicorn(
            "bare", workspace.bare_env("bare"), workspace.log("api-bare"), app="bench.bare.wsgi"
        )
        for server in servers.values():
            server.start()
        for side in ("before", "after"):
            smoke(servers[side], INGEST)
        for server, path in [(servers["bare"], CEILING)] + [
            (servers[side], TARGETS[target][0]) for side in ("before", "after") for target in targets
        ]:
            run_wrk(
                server.url(path), mode="json", connections=16, seconds=2, prefix=f"warm{uuid.uuid4().hex[:6]}"
            )
        for round_number in range(1, options.rounds + 1):
            order = ("before", "after") if round_number % 2 else ("after", "before")
            tag = f"r{round_number}{uuid.uuid4().hex[:6]}"
            bare = measure(
                servers["bare"],
                CEILING,
                "json",
                connections=options.connections,
                seconds=options.seconds,
                tag=f"{tag}-bare",
            )
            rows.append({"round": round_number, "side": "bare", "target": "no-middleware", **bare})
            for side in order:
                for target in targets:
                    path, mode = TARGETS[target]
                    row = measure(
                        servers[side],
                        path,
                        mode,
                        connections=options.connections,
                        seconds=options.seconds,
                        tag=f"{tag}-{side}-{target}",
                    )
                    row["of_no_middleware"] = round(row["rps"] / bare["rps"], 3) if bare["rps"] else None
                    row["cpu_of_no_middleware"] = (
                        round(bare["cpu_ms"] / row["cpu_ms"], 3) if bare["cpu_ms"] and row["cpu_ms"] else None
                    )
                    rows.append({"round": round_number, "side": side, "target": target, **row})
                    sys.stderr.write(
                        f"round {round_number} {side:6} {target:12} {row['rps']:8.1f} req/s "
                        f"p99 {row['p99_ms']:7.1f} ms  load {row['load_before']}->{row['load_after']}\n"
                    )
    finally:
        for server in servers.values():
            server.stop()
        workspace.cleanup()

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"ab-{stamp}.json"
    path.write_text(json.dumps({"options": vars(options), "rows": rows}, indent=1) + "\n")
    print(
        table(
            [
                "round",
                "side",
                "target",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "of no-mw",
                "CPU ms/req",
                "by CPU",
                "load before/after",
            ],
            [
                [
                    row["round"],
                    row["side"],
                    row["target"],
                    row["rps"],
                    row["p50_ms"],
                    row["p99_ms"],
                    row["errors"],
                    "-" if row.get("of_no_middleware") is None else f"{row['of_no_middleware']:.0%}",
                    "-" if row["cpu_ms"] is None else f"{row['cpu_ms']:.3f}",
                    "-" if row.get("cpu_of_no_middleware") is None else f"{row['cpu_of_no_middleware']:.0%}",
                    f"{row['load_before']:.2f} / {row['load_after']:.2f}",
                ]
                for row in rows
            ],
        )
    )
    summary = []
    for target in targets:
        medians = {}
        for side in ("before", "after"):
            mine = [row for row in rows if row["side"] == side and row["target"] == target]
            medians[side] = {
                key: statistics.median(row[key] for row in mine)
                for key in ("rps", "p99_ms", "of_no_middleware", "cpu_ms", "cpu_of_no_middleware")
            }
        change = medians["after"]["rps"] / medians["before"]["rps"] if medians["before"]["rps"] else None
        summary.append(
            {"target": target, **{f"{side}": value for side, value in medians.items()}, "change": change}
        )
    print()
    print(
        table(
            [
                "target",
                "before req/s",
                "after req/s",
                "after/before",
                "before p99",
                "after p99",
                "of no-mw b/a",
                "CPU ms/req b/a",
                "by CPU b/a",
            ],
            [
                [
                    item["target"],
                    item["before"]["rps"],
                    item["after"]["rps"],
                    "-" if item["change"] is None else f"{item['change']:.2f}",
                    item["before"]["p99_ms"],
                    item["after"]["p99_ms"],
                    f"{item['before']['of_no_middleware']:.0%} / {item['after']['of_no_middleware']:.0%}",
                    f"{item['before']['cpu_ms']:.3f} / {item['after']['cpu_ms']:.3f}",
                    f"{item['before']['cpu_of_no_middleware']:.0%} / {item['after']['cpu_of_no_middleware']:.0%}",
                ]
                for item in summary
            ],
        )
    )
    path.write_text(
        json.dumps(
            {"options": vars(options), "rows": rows, "summary": summary, "machine_cores": os.cpu_count()},
            indent=1,
        )
        + "\n"
    )
    print(f"\nResults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
