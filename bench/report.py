"""The targets (issue 19, and issue 8's it left standing) checked against one run's results, the printed tables, and the JSON file."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from bench import batches, fairness, redaction

LABELS = {"embedded": "embedded (SQLite queue + store)", "pubsub": "Pub/Sub + Firestore (emulators)"}

# The ceilings a closed-loop row can be compared with (its "bound"), by variant name.
NO_MIDDLEWARE = "no-middleware"  # bench/bare/: rest_framework alone, parses the JSON, answers 202
MIDDLEWARE = "middleware"  # the same view inside the service's settings (every middleware)
DURABLE_BATCH_CEILING = "durable batch"  # bench/bare/: NDJSON lines checked, one SQLite transaction
CEILINGS = (NO_MIDDLEWARE, MIDDLEWARE, DURABLE_BATCH_CEILING)

# Issue 19's targets.
SINGLE_LOG_SHARE = {"embedded": 0.50, "pubsub": 0.40}  # of the no-middleware ceiling, @16
SINGLE_LOG_P99_MS = 50
MIDDLEWARE_SHARE = 0.85  # the middleware ceiling over the no-middleware one
BATCH_SHARE = 0.50  # of the durable batch ceiling, in logs/s
BATCH_P99_MS = 250
WORKER_EMBEDDED_LOGS_PER_SECOND = 2000  # at concurrency 16
WORKER_PUBSUB_SHARE = 0.70
# Where an open-loop run of 500-record batches at 600,000 logs/min would put its summary.
BATCH_OPEN_LOOP_KEY = "600000-logs-in-batches"


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def logs_per_second(row: dict) -> float:
    return row["rps"] * row.get("logs_per_request", 1)


def cpu_per_log(row: dict) -> float | None:
    cpu = row.get("server_cpu_ms_per_request")
    return cpu / row.get("logs_per_request", 1) if cpu else None


def ceiling_ratio(
    closed_loop: dict[str, list[dict]], backend: str, row: dict, *, by: str = "rate"
) -> float | None:
    """``row``'s logs/s over that of the ceiling it names (``row["bound"]``), at its connection count.

    Any closed-loop row may name a ceiling: single-log rows name the
    no-middleware one, batch rows (500 records a request) the durable batch one;
    a row's logs/s is its req/s times its ``logs_per_request`` (1 if absent).
    ``by="cpu"`` gives the same fraction from the servers' CPU time per log
    instead (the ceiling's over the row's): what the ratio would be if the
    server had the machine to itself, and far steadier on a shared one.
    The ceiling measured in the same phase (same backend) counts; where that
    phase did not measure it at this connection count, another phase's figure
    of the same run does. None when the run has no such ceiling.
    """
    bound = row.get("bound")
    if not bound:
        return None

    def matches(candidate: dict) -> bool:
        return candidate["variant"] == bound and candidate["connections"] == row["connections"]

    same = [candidate for candidate in closed_loop.get(backend, []) if matches(candidate)]
    others = [
        candidate
        for other, rows in closed_loop.items()
        if other != backend
        for candidate in rows
        if matches(candidate)
    ]
    ceiling = (same or others or [None])[-1]
    if ceiling is None or not ceiling["rps"]:
        return None
    if by == "cpu":
        # The same fraction from the servers' CPU per log (the ceiling's over the row's).
        mine, theirs = cpu_per_log(row), cpu_per_log(ceiling)
        return theirs / mine if mine and theirs else None
    return logs_per_second(row) / logs_per_second(ceiling)


def evaluate(results: dict) -> list[dict]:
    """One row per target (issue 19, and issue 8's that it left standing): measured, target, met."""
    checks: list[dict] = []

    def check(section: str, issue: int, what: str, value, target: str, ok: Callable[[], bool]) -> None:
        met = None if value is None else bool(ok())
        shown = f"{value:.0%}" if "%" in target and isinstance(value, float) else _fmt(value)
        checks.append(
            {
                "section": section,
                "issue": issue,
                "what": what,
                "value": value,
                "shown": shown,
                "target": target,
                "met": met,
            }
        )

    def not_measured(section: str, issue: int, what: str, target: str) -> None:
        check(section, issue, f"{what} (not measured in this run)", None, target, lambda: False)

    def batch_checks(what: str, ratio: float | None, p99: float, refused: int) -> None:
        """A batch row's three targets: its share of the durable ceiling, its p99, no error or 503."""
        check(
            "1",
            19,
            f"{what}: share of the durable batch ceiling, logs/s",
            ratio,
            f">= {BATCH_SHARE:.0%}",
            lambda: ratio >= BATCH_SHARE,
        )
        check("1", 19, f"{what}: p99 ms", p99, f"<= {BATCH_P99_MS}", lambda: p99 <= BATCH_P99_MS)
        check("1", 19, f"{what}: errors and 503s", refused, "0", lambda: refused == 0)

    closed_loop = results.get("closed_loop", {})
    batch_rows = 0
    for backend, rows in closed_loop.items():
        for row in rows:
            ratio = ceiling_ratio(closed_loop, backend, row)
            shown_ratio = None if ratio is None else round(ratio, 3)
            if row["variant"] == MIDDLEWARE and row["connections"] == 16:
                check(
                    "1",
                    19,
                    f"middleware ceiling ({backend} server) @16: share of the no-middleware ceiling",
                    shown_ratio,
                    f">= {MIDDLEWARE_SHARE:.0%}",
                    lambda r=ratio: r >= MIDDLEWARE_SHARE,
                )
            elif row.get("bound") == DURABLE_BATCH_CEILING:
                batch_rows += 1
                what = f"batch {row['endpoint']} {row['mode']} {backend} @{row['connections']}"
                batch_checks(what, shown_ratio, row["p99_ms"], row["errors"])
            elif row["variant"] == backend and row["connections"] == 16 and row.get("bound") == NO_MIDDLEWARE:
                share = SINGLE_LOG_SHARE[backend]
                # Issue 19 sets the JSON row's targets; issue 8 asked the same of text/plain.
                issue = 19 if row["mode"] == "json" else 8
                what = f"ingest {backend} {row['mode']} @16"
                check(
                    "1",
                    issue,
                    f"{what}: share of the no-middleware ceiling",
                    shown_ratio,
                    f">= {share:.0%}",
                    lambda r=ratio, s=share: r >= s,
                )
                if backend == "embedded":
                    p99 = row["p99_ms"]
                    check(
                        "1",
                        issue,
                        f"{what}: p99 ms",
                        p99,
                        f"<= {SINGLE_LOG_P99_MS}",
                        lambda p=p99: p <= SINGLE_LOG_P99_MS,
                    )
                errors = row["errors"]
                check("1", issue, f"{what}: errors", errors, "0", lambda e=errors: e == 0)
    durable = next(
        (row for row in closed_loop.get("embedded", []) if row["variant"] == DURABLE_BATCH_CEILING),
        None,
    )
    for row in results.get("batches", {}).get("embedded", []):
        # The batches section's rows (bench/batches.py) against the durable batch ceiling of
        # the same run's closed loop, both at the same connection count.
        if durable is None or durable["connections"] != row["connections"] or not durable["rps"]:
            continue
        batch_rows += 1
        what = f"batch {row['route']} {row['kind']} embedded @{row['connections']}"
        ratio = round(row["logs_per_second"] / logs_per_second(durable), 3)
        batch_checks(what, ratio, row["p99_ms"], row["errors"] + row["unavailable"])
    if closed_loop and not batch_rows:
        not_measured(
            "1",
            19,
            "batches of 500 (NDJSON, JSON array, OTLP) embedded @8: share of the durable batch ceiling",
            f">= {BATCH_SHARE:.0%}, p99 <= {BATCH_P99_MS} ms, 0 errors",
        )

    for backend, rates in results.get("open_loop", {}).items():
        slow = rates.get("1000")
        if slow:
            check(
                "2",
                8,
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
                19,
                f"open loop {backend} 60,000/min: errors (rate held: {'yes' if held else 'no'})",
                fast["errors"],
                "0, rate held",
                lambda f=fast, h=held: f["errors"] == 0 and h,
            )
    if results.get("open_loop") and not any(
        BATCH_OPEN_LOOP_KEY in rates for rates in results["open_loop"].values()
    ):
        not_measured("2", 19, "open loop 600,000 logs/min in 500-record batches", "0 errors, rate held")

    raw = results.get("raw_pull") or {}
    for backend, rows in results.get("drain", {}).items():
        if backend == "embedded":
            at_16 = next((row["logs_per_second"] for row in rows if row["concurrency"] == 16), None)
            check(
                "3",
                19,
                "worker drain embedded, concurrency 16: logs/s",
                at_16,
                f">= {WORKER_EMBEDDED_LOGS_PER_SECOND:,}",
                lambda b=at_16: b >= WORKER_EMBEDDED_LOGS_PER_SECOND,
            )
        elif raw.get("ceiling"):
            best = max((row["logs_per_second"] or 0 for row in rows), default=None)
            ratio = round(best / raw["ceiling"], 3) if best else 0.0
            check(
                "3",
                19,
                f"worker drain pubsub, best: share of raw {raw['ceiling_method']} pull",
                ratio,
                f">= {WORKER_PUBSUB_SHARE:.0%}",
                lambda r=ratio: r >= WORKER_PUBSUB_SHARE,
            )

    for backend, figures in results.get("end_to_end", {}).items():
        p99 = figures["end_to_end"]["p99_ms"]
        check("3", 8, f"end-to-end {backend} @1,000/min: p99 ms", p99, "<= 500", lambda p=p99: p <= 500)

    for backend, workload in results.get("workload", {}).items():
        load = workload["open_loop"]
        check(
            "4",
            8,
            f"workload {backend}: requests not answered 202",
            load["errors"],
            "0",
            lambda summary=load: summary["errors"] == 0,
        )
        check(
            "4",
            8,
            f"workload {backend}: max backlog (worker concurrency {workload['concurrency']})",
            workload["max_backlog"],
            "bounded: <= concurrency",
            lambda w=workload: w["max_backlog"] <= w["concurrency"],
        )
        beyond = workload["end_to_end"]["beyond_work_p99_ms"]
        check(
            "4",
            8,
            f"workload {backend}: end-to-end p99 beyond the work, ms",
            beyond,
            "< 1,000",
            lambda b=beyond: b < 1000,
        )

    for backend, memory in results.get("memory", {}).items():
        api = max(memory.get("api_workers_peak_rss_mb") or [0]) or None
        check(
            "5",
            19,
            f"memory {backend}: largest API worker peak RSS MB",
            api,
            "<= 150",
            lambda a=api: a <= 150,
        )
        worker = memory.get("run_worker_c16_peak_rss_mb")
        check(
            "5",
            19,
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

    closed_loop = results.get("closed_loop", {})
    for backend, rows in closed_loop.items():
        out.append(
            f"\n1. Ingest, closed loop (wrk, {run['plan']['closed_seconds']:g} s each): {LABELS[backend]}"
        )
        body = []
        for row in rows:
            ratio = ceiling_ratio(closed_loop, backend, row)
            cpu_ratio = ceiling_ratio(closed_loop, backend, row, by="cpu")
            body.append(
                [
                    row.get("endpoint", row["variant"]),
                    row["mode"],
                    row["connections"],
                    row["rps"],
                    round(logs_per_second(row)) if row.get("logs_per_request", 1) > 1 else row["rps"],
                    row["p50_ms"],
                    row["p95_ms"],
                    row["p99_ms"],
                    row["errors"],
                    _fmt(row.get("server_cpu_ms_per_request"), 3),
                    "-" if ratio is None else f"{ratio:.0%} of {row['bound']}",
                    "-" if cpu_ratio is None else f"{cpu_ratio:.0%}",
                ]
            )
        out.append(
            table(
                [
                    "endpoint",
                    "body",
                    "conns",
                    "req/s",
                    "logs/s",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "errors",
                    "CPU ms/req",
                    "ratio to its ceiling",
                    "by CPU",
                ],
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
        out.extend(cpu_lines(results["drain"]))
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
                + cores_note(shape.get("cpu_cores"), "Firestore emulator")
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

    out.append("\nTargets (issue 19, and issue 8's where 19 left them standing)")
    body = [
        [
            check["section"],
            check.get("issue", 8),
            check["what"],
            check["shown"],
            check["target"],
            {True: "met", False: "missed", None: "n/a"}[check["met"]],
        ]
        for check in results["targets"]
    ]
    out.append(table(["§", "issue", "measurement", "result", "target", ""], body))
    return "\n".join(out)


def write(results: dict, directory: Path, stamp: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    return path


def cpu_lines(drains: dict[str, list[dict]]) -> list[str]:
    """Where the cores went during each drain: the worker, each emulator, the whole machine."""
    lines = []
    for backend, rows in drains.items():
        for row in rows:
            cores = row.get("cpu_cores")
            if not cores:
                continue  # a run from before the drain measured its CPU
            shares = ", ".join(f"{name} {used:.2f}" for name, used in cores.items())
            lines.append(
                f"   CPU cores busy, {backend} concurrency {row['concurrency']} "
                f"(of {row.get('machine_cores') or '?'}): {shares}"
            )
    return lines


def cores_note(cores: dict[str, float] | None, name: str) -> str:
    """``", Firestore emulator 0.97 cores"``: what one process kept busy, when the run measured it."""
    if not cores or name not in cores:
        return ""
    return f", {name} {cores[name]:.2f} cores"
