"""Noisy neighbours, measured: one tenant's 30,000-log backlog, another tenant's single log.

Tenant A (``bench-t00``) has 30,000 logs queued (published straight onto the
queue); one ``run_worker --concurrency 16`` works through them. Once it is under
way, tenant B (``bench-t01``) sends one log through the API (a 202) and polls
``GET /logs/{id}`` as a client would. Each row is the time from B's 202 to B's
log stored as processed, how many of A's logs were processed in between, and
what a first-in-first-out queue would have made B wait: A's remaining backlog at
the rate the worker drained it. The worker is stopped as soon as B's log is in.

Rows: the database queue without simulated work (the drain's speed) and with the
specified 0.05 s per character. The bound checked: B's log is processed within
one claim's wait plus the work of one of A's logs and its own, plus a second
(``bound_seconds``), and with at most what the worker already held when it
arrived (one log per handler and, while logs are quick, a batch more: ``2 x
concurrency``) plus one of A's logs processed ahead of it. Pub/Sub is not a row: one subscription hands out its backlog in its
own order, and what reaches B's log there is the stream turning over the logs
ahead of it (docs/processing.md, measured on the emulator by
``tests/gcp/test_pubsub_queue.py``).

``python -m bench --sections fairness`` runs it alone; ``python -m bench.fairness
[--quick]`` too, without the rest of the harness.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench.environment import EMBEDDED, Probe, Workspace
from bench.processes import Gunicorn, Worker

NOISY, QUIET = "bench-t00", "bench-t01"
QUIET_LOG_ID = "fairness-quiet"
# Long enough to be worked on like A's logs (fill writes "User 555-0199 accessed the system, entry N").
QUIET_TEXT = "User 555-0100 accessed the system, tenant B!"
NOISY_TEXT_CHARS = len("User 555-0199 accessed the system, entry 10000")
CONCURRENCY = 16
BACKLOG = {"full": 30000, "quick": 3000}
# (name, seconds of simulated work per character, A's logs processed before B's arrives)
ROWS = (("no simulated work", 0.0, 2000), ("0.05 s/char (specified)", 0.05, 2 * CONCURRENCY))
QUIET_WAIT_SECONDS = 120.0
# The pull consumer's poll while idle, and a claim, and a store write: what the bound allows beyond the work.
SLACK_SECONDS = 1.0


def bound_seconds(delay_per_char: float) -> float:
    """One of A's logs finishing (the slot B waits for), B's own work, and a second."""
    return (NOISY_TEXT_CHARS + len(QUIET_TEXT)) * delay_per_char + SLACK_SECONDS


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def quiet_log(server: Gunicorn) -> tuple[float, float | None]:
    """Send B's log; (when its 202 arrived, when it was first seen processed, or None)."""
    body = json.dumps({"tenant_id": QUIET, "log_id": QUIET_LOG_ID, "text": QUIET_TEXT}).encode()
    status, _ = _request(server.url("/ingest"), data=body, headers={"Content-Type": "application/json"})
    accepted_at = time.time()
    if status != 202:
        raise RuntimeError(f"tenant B's log was answered {status}")
    deadline = time.monotonic() + QUIET_WAIT_SECONDS
    while time.monotonic() < deadline:
        status, record = _request(server.url(f"/logs/{QUIET_LOG_ID}"), headers={"X-Tenant-ID": QUIET})
        if status == 200 and record.get("status") == "processed":
            return accepted_at, time.time()
        time.sleep(0.05)
    return accepted_at, None


def measure_row(workspace: Workspace, backlog: int, name: str, delay_per_char: float, warm: int) -> dict:
    slug = "nowork" if not delay_per_char else "work"
    env = workspace.phase_env(EMBEDDED, f"fairness-{slug}", delay_per_char=delay_per_char)
    with Probe(env, workspace.log(f"probe-fairness-{slug}")) as probe:
        probe.call("setup")
        probe.call("fill", count=backlog, tenants=1, prefix="fairness-a", call_timeout=600)
        server = Gunicorn(f"api-fairness-{slug}", env, workspace.log(f"api-fairness-{slug}"))
        worker = Worker(
            f"worker-fairness-{slug}",
            env,
            workspace.log(f"worker-fairness-{slug}"),
            ["--concurrency", str(CONCURRENCY)],
        )
        try:
            server.start()
            worker.start()
            probe.call("wait_processed", count=min(warm, backlog // 10), tenants=1, timeout=300, poll=0.1)
            accepted_at, seen_at = quiet_log(server)
        finally:
            worker.stop()
            server.stop()
        times = probe.call("processed_times", tenants=2, call_timeout=600)["times"]
    quiet_done = times.get(f"{QUIET}/{QUIET_LOG_ID}")
    noisy = sorted(at for key, at in times.items() if key.startswith(f"{NOISY}/"))
    before = sum(1 for at in noisy if at <= accepted_at)
    ahead = None if quiet_done is None else sum(1 for at in noisy if accepted_at < at < quiet_done)
    # The worker's rate over A's logs until B's was in (from when the first of them was
    # started): what a FIFO queue would have had to get through first.
    until = quiet_done if quiet_done is not None else accepted_at
    done = [at for at in noisy if at <= until]
    started = done[0] - NOISY_TEXT_CHARS * delay_per_char if done else None
    rate = len(done) / (done[-1] - started) if done and done[-1] > started else None
    remaining = backlog - before
    return {
        "row": name,
        "delay_per_char": delay_per_char,
        "backlog": backlog,
        "concurrency": CONCURRENCY,
        "noisy_processed_before": before,
        "noisy_remaining": remaining,
        "quiet_ms": None if quiet_done is None else round(max(0.0, quiet_done - accepted_at) * 1000),
        "quiet_seen_ms": None if seen_at is None else round((seen_at - accepted_at) * 1000),
        "noisy_ahead": ahead,
        "drain_logs_per_second": None if rate is None else round(rate, 1),
        "fifo_estimate_s": None if not rate else round(remaining / rate, 1),
        "bound_ms": round(bound_seconds(delay_per_char) * 1000),
    }


def measure(workspace: Workspace, plan_name: str) -> dict:
    backlog = BACKLOG.get(plan_name, BACKLOG["full"])
    return {
        "backlog": backlog,
        "rows": [measure_row(workspace, backlog, name, delay, warm) for name, delay, warm in ROWS],
    }


def render(section: dict) -> str:
    from bench.report import table

    body = [
        [
            row["row"],
            f"{row['noisy_processed_before']:,} / {row['noisy_remaining']:,}",
            row["quiet_ms"],
            row["bound_ms"],
            row["noisy_ahead"],
            row["drain_logs_per_second"],
            row["fifo_estimate_s"],
        ]
        for row in section["rows"]
    ]
    title = (
        f"\n8. Noisy neighbours (database queue): tenant A's {section['backlog']:,}-log backlog, one "
        f"run_worker --concurrency {CONCURRENCY}; tenant B's one log arrives through the API"
    )
    headers = [
        "work",
        "A done / left at B's 202",
        "B 202->processed ms",
        "bound ms",
        "A processed meanwhile",
        "A logs/s",
        "FIFO wait s (est.)",
    ]
    return f"{title}\n{table(headers, body)}"


def evaluate(section: dict, *, label: str = "7") -> list[dict]:
    """Target rows in the shape of ``bench.report.evaluate``'s."""
    checks = []
    for row in section["rows"]:
        value = row["quiet_ms"]
        checks.append(
            {
                "section": label,
                "what": f"noisy neighbours, {row['row']}: tenant B's log 202 -> processed, ms",
                "value": value,
                "shown": "-" if value is None else f"{value:,}",
                "target": f"<= {row['bound_ms']:,}",
                "met": None if value is None else value <= row["bound_ms"],
            }
        )
        ahead = row["noisy_ahead"]
        checks.append(
            {
                "section": label,
                "what": f"noisy neighbours, {row['row']}: A's logs processed ahead of B's",
                "value": ahead,
                "shown": "-" if ahead is None else f"{ahead:,}",
                "target": f"<= {2 * row['concurrency'] + 1}",
                "met": None if ahead is None else ahead <= 2 * row["concurrency"] + 1,
            }
        )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 3,000-log backlog instead of 30,000")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    options = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    workspace = Workspace(keep=options.keep)
    try:
        workspace.migrate_template()
        section = measure(workspace, "quick" if options.quick else "full")
    finally:
        workspace.cleanup()
    targets = evaluate(section)
    print(render(section))
    for check in targets:
        verdict = {True: "PASS", False: "MISS", None: "n/a"}[check["met"]]
        print(f"  {check['what']}: {check['shown']} (target {check['target']}: {verdict})")
    results_dir = Path(__file__).resolve().parent / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"fairness-{stamp}.json"
    path.write_text(json.dumps({"fairness": section, "targets": targets}, indent=1) + "\n")
    print(f"\nResults: {path.relative_to(results_dir.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
