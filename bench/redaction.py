"""``python -m bench.redaction``: redaction alone, in lines per second on one core.

No server, no queue: the engine (``processing.redaction``) runs in this process
over generated log lines of about 100 characters, the shapes a worker sees
(access logs with query strings, JSON application logs, key=value lines, syslog,
stack traces), once without any personal data and once with some in every line.
Two policies: the default one (every default detector on, ``[REDACTED]``) and
the default plus ten custom re2 rules. Each row is timed in several rounds over
the same lines, after a warm-up pass; the median round is the figure. Rates are
lines per CPU second of this one-threaded process (lines per second on one core,
however busy the shared machine is), with the wall-clock rate beside.

Prints a table and writes ``bench/results/redaction-<UTC timestamp>.json``.
``measure()``, ``render()`` and ``evaluate()`` give ``python -m bench`` the same
row, table and target check.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_LINES_PER_SECOND = 20_000  # issue 15, default policy, typical 100-character lines
SEED = 15

# Ten rules of the kind a tenant writes: its own identifiers, tokens, internal hosts.
TEN_CUSTOM_RULES = [
    {"name": "employee_id", "pattern": r"\bEMP-\d{6}\b", "replacement": "typed"},
    {"name": "account_ref", "pattern": r"\bACCT[0-9]{8}\b", "replacement": "hash"},
    {"name": "api_key", "pattern": r"(?i)\bapi[_-]?key=[A-Za-z0-9]{16,}", "replacement": "redact"},
    {"name": "bearer_token", "pattern": r"Bearer [A-Za-z0-9._~+/-]{20,}=*", "replacement": "redact"},
    {"name": "aws_access_key", "pattern": r"\bAKIA[0-9A-Z]{16}\b", "replacement": "redact"},
    {"name": "internal_host", "pattern": r"\b[a-z0-9-]+\.corp\.acme\.internal\b", "replacement": "typed"},
    {"name": "patient_id", "pattern": r"\bPAT-[A-Z]{2}-\d{5}\b", "replacement": "mask"},
    {"name": "license_plate", "pattern": r"\b[A-Z]{2}\d{2} ?[A-Z]{3}\b", "replacement": "redact"},
    {"name": "session_cookie", "pattern": r"sessionid=[a-f0-9]{32}", "replacement": "remove"},
    {"name": "customer_code", "pattern": r"\bCUST/\d{4}/[A-Z]{3}\b", "replacement": "hash"},
]

_PATHS = ["/api/v1/orders", "/api/v1/users", "/checkout/confirm", "/static/app.js", "/healthz", "/search"]
_WORDS = ["alpha", "bravo", "cart", "delta", "ember", "fjord", "gamma", "harbor", "index", "jolt"]
_LEVELS = ["INFO", "WARN", "DEBUG", "ERROR"]
_SERVICES = ["checkout", "billing", "search", "auth", "mailer", "ledger"]


def _clock(rng: random.Random) -> tuple[str, str]:
    day, hour, minute, second = rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    iso = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{rng.randint(0, 999):03d}Z"
    clf = f"{day:02d}/Nov/2026:{hour:02d}:{minute:02d}:{second:02d} +0000"
    return iso, clf


def _uuid(rng: random.Random) -> str:
    hexdigits = f"{rng.getrandbits(128):032x}"
    return f"{hexdigits[:8]}-{hexdigits[8:12]}-{hexdigits[12:16]}-{hexdigits[16:20]}-{hexdigits[20:]}"


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _clean_line(rng: random.Random) -> str:
    iso, clf = _clock(rng)
    shape = rng.randrange(6)
    if shape == 0:
        return (
            f'{_ip(rng)} - - [{clf}] "GET {rng.choice(_PATHS)}?page={rng.randint(1, 40)}&sort=desc '
            f'HTTP/1.1" {rng.choice([200, 200, 304, 404])} {rng.randint(200, 90000)}'
        )
    if shape == 1:
        return (
            f'{{"ts":"{iso}","level":"{rng.choice(_LEVELS).lower()}","msg":"order created",'
            f'"order_id":{rng.randint(10**9, 10**10 - 1)},"amount":{rng.randint(1, 999)}.{rng.randint(0, 99):02d}}}'
        )
    if shape == 2:
        return (
            f"{iso[:10]} {iso[11:23]} {rng.choice(_LEVELS)} worker={rng.randint(1, 16)} job=sync "
            f"duration_ms={rng.randint(1, 5000)} rows={rng.randint(0, 99999)} request_id={_uuid(rng)[:18]}"
        )
    if shape == 3:
        return (
            f"Nov {rng.randint(1, 28):2d} {iso[11:19]} web-{rng.randint(1, 9)} sshd[{rng.randint(100, 65000)}]: "
            f"Accepted publickey for deploy from {_ip(rng)} port {rng.randint(1024, 65535)} ssh2"
        )
    if shape == 4:
        service = rng.choice(_SERVICES)
        return (
            f'  File "/app/{service}/handlers/{rng.choice(_WORDS)}.py", line {rng.randint(10, 900)}, '
            f"in process_{rng.choice(_WORDS)}_event (v{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 40)})"
        )
    return (
        f"{iso} {rng.choice(_LEVELS)} [{rng.choice(_SERVICES)}] cache hit ratio=0.{rng.randint(10, 99)} "
        f"bytes={rng.randint(10**6, 4 * 10**9)} build #{rng.randint(100, 999)}-{rng.randint(1000, 9999)} trace={_uuid(rng)[:13]}"
    )


_EMAILS = ["alice@example.com", "jose.garcia@correo.es", "ops+alerts@mail.co.uk", "m.chen@example.org"]
_PHONES = ["+44 20 7946 0958", "(415) 555-2671", "555-0199", "+1-202-555-0147", "415.555.2671"]
_CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004", "4111111111111111"]


def _pii_line(rng: random.Random) -> str:
    iso, clf = _clock(rng)
    shape = rng.randrange(6)
    if shape == 0:
        email = rng.choice(_EMAILS).replace("@", "%40")
        return (
            f'{_ip(rng)} - - [{clf}] "GET /unsubscribe?email={email}&t={rng.randint(1000, 9999)} '
            f'HTTP/1.1" 200 {rng.randint(200, 9000)}'
        )
    if shape == 1:
        return (
            f'{{"ts":"{iso}","level":"info","msg":"signup","email":"{rng.choice(_EMAILS)}",'
            f'"phone":"{rng.choice(_PHONES)}"}}'
        )
    if shape == 2:
        return (
            f"{iso[:10]} {iso[11:23]} WARN payment declined user={rng.randint(1000, 99999)} "
            f"card={rng.choice(_CARDS)} phone={rng.choice(_PHONES)}"
        )
    if shape == 3:
        return (
            f"{iso} INFO [crm] customer updated ssn=123-45-{rng.randint(1000, 9999)} "
            f"contact {rng.choice(_EMAILS)} (id {rng.randint(100, 9999)})"
        )
    if shape == 4:
        return (
            f"{iso} ERROR [billing] refund to IBAN DE89 3704 0044 0532 0130 00 failed for "
            f"{rng.choice(_EMAILS)} code={rng.randint(100, 999)}"
        )
    return (
        f"Nov {rng.randint(1, 28):2d} {iso[11:19]} pbx-{rng.randint(1, 4)} sip[{rng.randint(100, 9000)}]: "
        f"call from {rng.choice(_PHONES)} to ext {rng.randint(100, 999)} lasted {rng.randint(1, 900)}s"
    )


def clean_lines(count: int = 2000, seed: int = SEED) -> list[str]:
    """Log lines with nothing to redact: timestamps, ids, IP addresses, versions, sizes."""
    rng = random.Random(seed)
    return [_clean_line(rng) for _ in range(count)]


def pii_lines(count: int = 2000, seed: int = SEED) -> list[str]:
    """Log lines with one or two phone numbers, e-mail addresses, cards, SSNs or IBANs each."""
    rng = random.Random(seed + 1)
    return [_pii_line(rng) for _ in range(count)]


def ten_rules_policy() -> dict:
    from processing.redaction import DEFAULT_POLICY

    policy = DEFAULT_POLICY.to_dict()
    policy["custom_rules"] = TEN_CUSTOM_RULES
    return policy


def time_lines(scrub: Callable[[str], object], lines: list[str], *, rounds: int, min_seconds: float) -> dict:
    """Lines per second of ``scrub`` over ``lines``: one warm-up pass, then ``rounds`` timed rounds.

    Each round is timed twice: by the wall clock and by this process's CPU time. The work
    is one thread, so lines per CPU second is lines per second on one core, whatever else
    the machine runs; the wall-clock rate is what this process got of the core meanwhile.
    """
    for line in lines:
        scrub(line)
    wall_rates, cpu_rates = [], []
    for _ in range(rounds):
        done = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        elapsed = 0.0
        while elapsed < min_seconds:
            for line in lines:
                scrub(line)
            done += len(lines)
            elapsed = time.perf_counter() - started
        wall_rates.append(done / elapsed)
        cpu_rates.append(done / max(time.process_time() - cpu_started, 1e-9))
    cpu = statistics.median(cpu_rates)
    return {
        "lines_per_second": round(cpu),
        "wall_lines_per_second": round(statistics.median(wall_rates)),
        "best_lines_per_second": round(max(cpu_rates)),
        "microseconds_per_line": round(1e6 / cpu, 1),
        "rounds_cpu": [round(rate) for rate in cpu_rates],
        "rounds_wall": [round(rate) for rate in wall_rates],
    }


def measure(*, quick: bool = False) -> dict:
    """The redaction section: one row per (policy, kind of line)."""
    from processing.redaction import DEFAULT_POLICY, compile_policy, parse_policy

    rounds, min_seconds, count = (3, 0.3, 600) if quick else (5, 1.0, 2000)
    corpora = {"clean": clean_lines(count), "pii": pii_lines(count)}
    policies = {
        "default": DEFAULT_POLICY,
        "default + 10 custom rules": parse_policy(ten_rules_policy()),
    }
    rows = []
    for policy_name, spec in policies.items():
        redactor = compile_policy(spec, secret=b"bench-secret")
        for kind, lines in corpora.items():
            findings = sum(sum(redactor.scrub(line).findings.values()) for line in lines)
            timing = time_lines(redactor.scrub, lines, rounds=rounds, min_seconds=min_seconds)
            rows.append(
                {
                    "policy": policy_name,
                    "lines": kind,
                    "mean_chars": round(sum(map(len, lines)) / len(lines), 1),
                    "findings_per_line": round(findings / len(lines), 2),
                    **timing,
                }
            )
    return {
        "rows": rows,
        "target_lines_per_second": TARGET_LINES_PER_SECOND,
        "lines_per_corpus": count,
        "rounds": rounds,
        "min_seconds_per_round": min_seconds,
    }


def render(section: dict) -> str:
    from bench.report import table

    body = [
        [
            row["policy"],
            row["lines"],
            row["mean_chars"],
            row["findings_per_line"],
            row["lines_per_second"],
            row["wall_lines_per_second"],
            row["microseconds_per_line"],
        ]
        for row in section["rows"]
    ]
    title = (
        f"Redaction alone (one core, {section['lines_per_corpus']:,} generated lines a corpus, "
        f"median of {section['rounds']} rounds; lines/s per CPU second, wall clock beside)"
    )
    headers = ["policy", "lines", "chars", "findings/line", "lines/s", "wall lines/s", "us/line"]
    return f"{title}\n{table(headers, body)}"


def evaluate(section: dict, *, label: str = "6") -> list[dict]:
    """Target rows in the shape of ``bench.report.evaluate``'s (``label`` is their section):
    the default policy at 20,000 lines/s, clean lines and lines with PII."""
    checks = []
    target = section["target_lines_per_second"]
    for row in section["rows"]:
        if row["policy"] != "default":
            continue
        value = row["lines_per_second"]
        checks.append(
            {
                "section": label,
                "what": f"redaction, default policy, {row['lines']} lines: lines/s",
                "value": value,
                "shown": f"{value:,}",
                "target": f">= {target:,}",
                "met": value >= target,
            }
        )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.redaction", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds")
    parser.add_argument("--no-write", action="store_true", help="print the table, write no JSON")
    options = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    load_before = [round(value, 2) for value in os.getloadavg()]
    section = measure(quick=options.quick)
    results = {
        "run": {
            "started_at": stamp,
            "python": platform.python_version(),
            "load_average_at_start": load_before,
            "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        },
        "redaction": section,
        "targets": evaluate(section),
    }
    print(render(section))
    for check in results["targets"]:
        print(
            f"  {check['what']}: {check['shown']} (target {check['target']}: {'PASS' if check['met'] else 'MISS'})"
        )
    if not options.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"redaction-{stamp}.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"\nResults: {path.relative_to(RESULTS_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
