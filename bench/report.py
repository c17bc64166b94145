"""Issue 8's targets (and issue 15's redaction row) checked against one run's results, the printed tables,
and the JSON file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from bench import batches, fairness, redaction

LABELS = {"embedded": "embedded (SQLite queue + store)", "pubsub": "Pub/Sub + Firestore (emulators)"}
CEILING_SHARE = {"embedded": 0.50, "pubsub": 0.40}


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def ceiling_ratios(closed_loop: dict[str, list[dict]], backend: str) -> dict[tuple[str, int], float]:
    """``(mode, connections) -> ingest req/s / ceiling req/s``.

    The ceiling measured on the same server counts; where that server did not
    measure it at some connection count, the run's other server's figure does.
    The ceiling parses JSON; text/plain rows are compared with it too (both are
    one small POST answered 202).
    """
    ceilings: dict[int, float] = {}
    for other, other_rows in closed_loop.items():
        if other != backend:
            ceilings.update(
                (row["connections"], row["rps"]) for row in other_rows if row["variant"] == "ceiling"
            )
    rows = closed_loop[backend]
    ceilings.update((row["connections"], row["rps"]) for row in rows if row["variant"] == "ceiling")
    return {
        (row["mode"], row["connections"]): row["rps"] / ceilings[row["connections"]]
        for row in rows
        if row["variant"] == backend and ceilings.get(row["connections"])
    }


def evaluate(results: dict) -> list[dict]:
    """One row per target: what was measured, the target, and whether it was met."""
    checks: list[dict] = []

    def check(section: str, what: str, value, target: str, ok: Callable[[], bool]) -> None:
        met = None if value is None else bool(ok())
        shown = f"{value:.0%}" if "%" in target and isinstance(value, float) else _fmt(value)
        checks.append(
            {"section": section, "what": what, "value": value, "shown": shown, "target": target, "met": met}
        )

    for backend, rows in results.get("closed_loop", {}).items():
        ratios = ceiling_ratios(results["closed_loop"], backend)
        share = CEILING_SHARE[backend]
        for row in rows:
            if row["variant"] != backend or row["connections"] != 16:
                continue
            ratio = ratios.get((row["mode"], 16))
            what = f"ingest {backend} {row['mode']} @16: share of ceiling req/s"
            check(
                "1",
                what,
                None if ratio is None else round(ratio, 3),
                f">= {share:.0%}",
                lambda r=ratio, s=share: r >= s,
            )
            if backend == "embedded":
                p99 = row["p99_ms"]
                check("1", f"ingest {backend} {row['mode']} @16: p99 ms", p99, "<= 50", lambda p=p99: p <= 50)
            errors = row["errors"]
            check("1", f"ingest {backend} {row['mode']} @16: errors", errors, "0", lambda e=errors: e == 0)

    for backend, rates in results.get("open_loop", {}).items():
        slow = rates.get("1000")
        if slow:
            check(
                "2",
                f"open loop {backend} 1,000/min: p99 ms",
                slow["p99_ms"],
                "<= 20",
                lambda s=slow: s["p99_ms"] <= 20,
            )
        fast = rates.get("60000")
        if fast:
            # Held: sent at the rate, and answered at it (the last answer soon after the last send).
            held = all(
                (fast.get(key) or 0) >= 0.95 * fast["target_rps"] for key in ("sent_rps", "answered_rps")
            )
            check(
                "2",
                f"open loop {backend} 60,000/min: errors (rate held: {'yes' if held else 'no'})",
                fast["errors"],
                "0, rate held",
                lambda f=fast, h=held: f["errors"] == 0 and h,
            )

    raw = results.get("raw_pull") or {}
    for backend, rows in results.get("drain", {}).items():
        best = max((row["logs_per_second"] or 0 for row in rows), default=None)
        if backend == "embedded":
            check(
                "3",
                "worker drain embedded, best concurrency: logs/s",
                best,
                ">= 1,000",
                lambda b=best: b >= 1000,
            )
        elif raw.get("ceiling"):
            ratio = round(best / raw["ceiling"], 3) if best else 0.0
            check(
                "3",
                f"worker drain pubsub, best: share of raw {raw['ceiling_method']} pull",
                ratio,
                ">= 70%",
                lambda r=ratio: r >= 0.70,
            )

    for backend, figures in results.get("end_to_end", {}).items():
        p99 = figures["end_to_end"]["p99_ms"]
        check("3", f"end-to-end {backend} @1,000/min: p99 ms", p99, "<= 500", lambda p=p99: p <= 500)

    for backend, workload in results.get("workload", {}).items():
        load = workload["open_loop"]
        check(
            "4",
            f"workload {backend}: requests not answered 202",
            load["errors"],
            "0",
            lambda summary=load: summary["errors"] == 0,
        )
        check(
            "4",
            f"workload {backend}: max backlog (worker concurrency {workload['concurrency']})",
            workload["max_backlog"],
            "bounded: <= concurrency",
            lambda w=workload: w["max_backlog"] <= w["concurrency"],
        )
        beyond = workload["end_to_end"]["beyond_work_p99_ms"]
        check(
            "4",
            f"workload {backend}: end-to-end p99 beyond the work, ms",
            beyond,
            "< 1,000",
            lambda b=beyond: b < 1000,
        )

    for backend, memory in results.get("memory", {}).items():
        api = max(memory.get("api_workers_peak_rss_mb") or [0]) or None
        check("5", f"memory {backend}: largest API worker peak RSS MB", api, "<= 150", lambda a=api: a <= 150)
        worker = memory.get("run_worker_c16_peak_rss_mb")
        check(
            "5",
            f"memory {backend}: run_worker --concurrency 16 peak RSS MB",
            worker,
            "<= 250",
            lambda w=worker: w <= 250,
        )
    if results.get("redaction"):
        checks += redaction.evaluate(results["redaction"])
    if results.get("batches"):
        checks += batches.evaluate(results["batches"])
    if results.get("fairness"):
        checks += fairness.evaluate(results["fairness"])

    # The NDJSON export's memory (bench/export.py): its own rows and target.
    from bench import export

    checks += export.evaluate(results.get("export"))
    return checks


def _looks_numeric(value) -> bool:
    if value is None or isinstance(value, int | float):
        return True
    return isinstance(value, str) and re.fullmatch(r"[-\d.,%/ ]+", value) is not None


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(cell) for cell in headers]] + [[_fmt(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]
    # Numbers right-aligned, words left-aligned.
    numeric = [all(_looks_numeric(row[index]) for row in rows) for index in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        lines.append(
            "  ".join(
                cell.rjust(width) if numeric[i] else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render(results: dict) -> str:
    """The whole printed report: one table per section, then the targets."""
    out: list[str] = []
    run = results["run"]
    out.append(
        f"dataproc benchmark ({run['plan']['name']}), {run['started_at']}, {run['machine']['summary']}"
    )
    for reason in results.get("skipped", []):
        out.append(f"SKIPPED: {reason}")

    for backend, rows in results.get("closed_loop", {}).items():
        ratios = ceiling_ratios(results["closed_loop"], backend)
        out.append(
            f"\n1. Ingest, closed loop (wrk, {run['plan']['closed_seconds']:g} s each): {LABELS[backend]}"
        )
        body = []
        for row in rows:
            ratio = ratios.get((row["mode"], row["connections"])) if row["variant"] == backend else None
            body.append(
                [
                    "ceiling (bare DRF)" if row["variant"] == "ceiling" else "/ingest",
                    row["mode"],
                    row["connections"],
                    row["rps"],
                    row["p50_ms"],
                    row["p95_ms"],
                    row["p99_ms"],
                    row["errors"],
                    "-" if ratio is None else f"{ratio:.0%}",
                ]
            )
        out.append(
            table(
                ["endpoint", "body", "conns", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "of ceiling"],
                body,
            )
        )

    if results.get("open_loop"):
        out.append(
            f"\n2. Ingest, open loop (fixed rate, {run['plan']['open_seconds']:g} s, half JSON / half text)"
        )
        body = []
        for backend, rates in results["open_loop"].items():
            for rate, summary in rates.items():
                body.append(
                    [
                        backend,
                        f"{int(rate):,}/min",
                        summary["sent_rps"],
                        summary.get("answered_rps"),
                        summary["p50_ms"],
                        summary["p99_ms"],
                        summary["max_ms"],
                        summary["errors"],
                    ]
                )
        out.append(
            table(
                ["backend", "rate", "sent req/s", "answered req/s", "p50 ms", "p99 ms", "max ms", "errors"],
                body,
            )
        )

    if results.get("drain"):
        out.append(
            f"\n3. Worker drain ({run['plan']['drain_logs']:,} logs, no simulated delay, one run_worker)"
        )
        body = []
        for backend, rows in results["drain"].items():
            for row in rows:
                body.append(
                    [
                        backend,
                        row["concurrency"],
                        row["logs_per_second"],
                        row["wall_seconds"],
                        row["worker_peak_rss_mb"],
                    ]
                )
        out.append(table(["backend", "concurrency", "logs/s", "wall s", "peak RSS MB"], body))
        raw = results.get("raw_pull")
        if raw:
            methods = ", ".join(f"{name} {figures['rate']:,}/s" for name, figures in raw["methods"].items())
            out.append(
                f"   Pub/Sub emulator raw ack-only pull: {methods} (ceiling used: {raw['ceiling_method']})"
            )
        for shape in results.get("store_write") or []:
            out.append(
                f"   Firestore emulator, save_results alone: {shape['rate']:,} logs/s "
                f"({shape['batch']} a commit, {shape['threads']} thread{'s' if shape['threads'] > 1 else ''})"
            )
    if results.get("end_to_end"):
        out.append("\n3. End to end at 1,000/min (202 answered -> record processed)")
        body = [
            [
                backend,
                figures["worker_concurrency"],
                figures["end_to_end"]["p50_ms"],
                figures["end_to_end"]["p99_ms"],
                figures["end_to_end"]["not_processed"],
            ]
            for backend, figures in results["end_to_end"].items()
        ]
        out.append(table(["backend", "worker conc.", "p50 ms", "p99 ms", "not processed"], body))

    for backend, workload in results.get("workload", {}).items():
        e2e = workload["end_to_end"]
        load = workload["open_loop"]
        out.append(
            f"\n4. Specified workload on {LABELS[backend]}: {workload['seconds']:g} s at 1,000/min, "
            "0.05 s/char, 40-120 chars, 20 tenants, half JSON"
        )
        out.append(
            table(
                ["measure", "value"],
                [
                    ["requests sent / answered 202", f"{load['sent']:,} / {load['accepted']:,}"],
                    ["API p50 / p99 ms", f"{_fmt(load['p50_ms'])} / {_fmt(load['p99_ms'])}"],
                    ["logs in processing (Little's law)", workload["littles_law_in_processing"]],
                    ["run_worker concurrency used", workload["concurrency"]],
                    [
                        "backlog max / at end of load",
                        f"{workload['max_backlog']} / {workload['final_backlog']}",
                    ],
                    ["end-to-end p50 / p99 ms", f"{_fmt(e2e['p50_ms'])} / {_fmt(e2e['p99_ms'])}"],
                    [
                        "  beyond the work p50 / p99 ms",
                        f"{_fmt(e2e['beyond_work_p50_ms'])} / {_fmt(e2e['beyond_work_p99_ms'])}",
                    ],
                    ["backlog plot", workload.get("plot", "-")],
                ],
            )
        )

    if results.get("memory"):
        out.append("\n5. Memory (peak RSS, VmHWM)")
        body = []
        for backend, memory in results["memory"].items():
            api = memory.get("api_workers_peak_rss_mb") or []
            body.append(
                [
                    backend,
                    max(api) if api else None,
                    len(api),
                    memory.get("run_worker_c16_peak_rss_mb"),
                    memory.get("run_worker_workload_peak_rss_mb"),
                ]
            )
        out.append(
            table(
                [
                    "backend",
                    "API worker max MB",
                    "workers seen",
                    "run_worker c16 MB",
                    "run_worker workload MB",
                ],
                body,
            )
        )

    if results.get("redaction"):
        out.append("\n6. " + redaction.render(results["redaction"]))
    if results.get("batches"):
        out.append("\n7. " + batches.render(results["batches"]))
    if results.get("fairness"):
        out.append(fairness.render(results["fairness"]))

    if results.get("export"):
        from bench import export

        out.append(export.render(results["export"]))

    out.append("\nTargets (issue 8)")
    body = [
        [
            check["section"],
            check["what"],
            check["shown"],
            check["target"],
            {True: "PASS", False: "MISS", None: "n/a"}[check["met"]],
        ]
        for check in results["targets"]
    ]
    out.append(table(["§", "measurement", "result", "target", ""], body))
    return "\n".join(out)


def write(results: dict, directory: Path, stamp: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    return path
