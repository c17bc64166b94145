"""The benchmark's report: every row against the ceiling it names, and issue 19's targets met or missed."""

from bench.report import (
    DURABLE_BATCH_CEILING,
    MIDDLEWARE,
    NO_MIDDLEWARE,
    ceiling_ratio,
    cores_note,
    cpu_lines,
    evaluate,
    render,
)


def row(variant, *, rps, bound=None, connections=16, mode="json", logs_per_request=1, p99_ms=10.0, errors=0):
    return {
        "variant": variant,
        "endpoint": variant,
        "bound": bound,
        "mode": mode,
        "connections": connections,
        "logs_per_request": logs_per_request,
        "rps": rps,
        "p50_ms": 1.0,
        "p95_ms": 5.0,
        "p99_ms": p99_ms,
        "errors": errors,
    }


def closed_loop():
    return {
        "embedded": [
            row(NO_MIDDLEWARE, rps=2000.0),
            row(MIDDLEWARE, rps=1800.0, bound=NO_MIDDLEWARE),
            row("embedded", rps=900.0, bound=NO_MIDDLEWARE, p99_ms=60.0),
            row(DURABLE_BATCH_CEILING, rps=400.0, connections=8, mode="ndjson", logs_per_request=500),
            row(
                "/ingest batch",
                rps=250.0,
                bound=DURABLE_BATCH_CEILING,
                connections=8,
                mode="ndjson",
                logs_per_request=500,
            ),
        ],
        "pubsub": [row("pubsub", rps=700.0, bound=NO_MIDDLEWARE)],
    }


def test_single_log_rows_are_compared_with_the_no_middleware_ceiling_in_requests():
    rows = closed_loop()

    assert ceiling_ratio(rows, "embedded", rows["embedded"][1]) == 0.9
    assert ceiling_ratio(rows, "embedded", rows["embedded"][2]) == 0.45


def test_batch_rows_are_compared_with_the_ceiling_they_name_in_logs_per_second():
    rows = closed_loop()

    assert ceiling_ratio(rows, "embedded", rows["embedded"][4]) == 250 / 400


def test_a_phase_without_the_ceiling_uses_the_one_measured_in_another_phase_of_the_run():
    rows = closed_loop()

    assert ceiling_ratio(rows, "pubsub", rows["pubsub"][0]) == 0.35


def test_ceilings_and_rows_without_a_ceiling_at_their_connection_count_have_no_ratio():
    rows = closed_loop()
    rows["embedded"].append(row("embedded", rps=500.0, bound=NO_MIDDLEWARE, connections=64))

    assert ceiling_ratio(rows, "embedded", rows["embedded"][0]) is None
    assert ceiling_ratio(rows, "embedded", rows["embedded"][-1]) is None


def test_every_issue_19_target_of_the_closed_loop_is_met_or_missed():
    checks = {check["what"]: check for check in evaluate({"closed_loop": closed_loop()})}

    assert (
        checks["middleware ceiling (embedded server) @16: share of the no-middleware ceiling"]["met"] is True
    )
    assert checks["ingest embedded json @16: share of the no-middleware ceiling"]["met"] is False
    assert checks["ingest embedded json @16: p99 ms"]["met"] is False
    assert checks["ingest pubsub json @16: share of the no-middleware ceiling"]["met"] is False
    batch = "batch /ingest batch ndjson embedded @8"
    assert checks[f"{batch}: share of the durable batch ceiling, logs/s"]["met"] is True
    assert checks[f"{batch}: p99 ms"]["met"] is True


def test_batch_targets_without_batch_rows_are_reported_as_not_measured():
    rows = closed_loop()
    rows["embedded"] = [r for r in rows["embedded"] if r["bound"] != DURABLE_BATCH_CEILING]

    (check,) = [
        check for check in evaluate({"closed_loop": rows}) if check["what"].startswith("batches of 500")
    ]

    assert check["met"] is None and "not measured" in check["what"]


def test_the_report_prints_each_row_with_its_ratio_and_each_target_as_met_or_missed():
    results = {
        "run": {
            "plan": {"name": "quick", "closed_seconds": 2},
            "started_at": "now",
            "machine": {"summary": "test machine"},
        },
        "closed_loop": closed_loop(),
    }
    results["targets"] = evaluate(results)

    printed = render(results)

    assert "90% of no-middleware" in printed
    assert "62% of durable batch" in printed
    assert "125,000" in printed  # the batch row's logs/s
    assert " met" in printed and " missed" in printed


def batch_section_row(kind, *, logs_per_second, p99_ms=200.0, errors=0, unavailable=0, connections=8):
    return {
        "kind": kind,
        "route": "/ingest",
        "records_per_request": 500,
        "connections": connections,
        "seconds": 15,
        "requests": 100,
        "logs_per_second": logs_per_second,
        "requests_per_second": logs_per_second / 500,
        "p50_ms": 100.0,
        "p99_ms": p99_ms,
        "errors": errors,
        "unavailable": unavailable,
    }


def test_the_batches_sections_rows_are_held_to_the_durable_batch_ceiling_of_the_same_run():
    rows = closed_loop()
    rows["embedded"] = [r for r in rows["embedded"] if r["bound"] != DURABLE_BATCH_CEILING]  # ceiling kept
    results = {
        "closed_loop": rows,
        "batches": {
            "embedded": [
                batch_section_row("ndjson", logs_per_second=120_000.0),
                batch_section_row("json array", logs_per_second=80_000.0, p99_ms=300.0, unavailable=2),
            ],
            "pubsub": [batch_section_row("ndjson", logs_per_second=5_000.0)],
        },
    }

    checks = {check["what"]: check for check in evaluate(results)}

    fast, slow = "batch /ingest ndjson embedded @8", "batch /ingest json array embedded @8"
    assert checks[f"{fast}: share of the durable batch ceiling, logs/s"]["value"] == 0.6  # of 200,000
    assert checks[f"{fast}: share of the durable batch ceiling, logs/s"]["met"] is True
    assert checks[f"{slow}: share of the durable batch ceiling, logs/s"]["met"] is False
    assert checks[f"{slow}: p99 ms"]["met"] is False
    assert checks[f"{slow}: errors and 503s"]["met"] is False
    assert checks[f"{fast}: errors and 503s"]["met"] is True
    assert not any("not measured" in what for what in checks)
    assert not any("pubsub @8: share" in what for what in checks)


def test_each_drain_says_how_many_cores_the_worker_each_emulator_and_the_machine_kept_busy():
    drains = {
        "embedded": [{"concurrency": 16, "logs_per_second": 2100.0}],  # a run from before the CPU figures
        "pubsub": [
            {
                "concurrency": 16,
                "logs_per_second": 400.0,
                "cpu_cores": {"run_worker": 0.61, "Firestore emulator": 0.9, "whole machine": 1.93},
                "machine_cores": 2,
            }
        ],
    }

    assert cpu_lines(drains) == [
        "   CPU cores busy, pubsub concurrency 16 (of 2): run_worker 0.61, Firestore emulator 0.90, "
        "whole machine 1.93"
    ]


def test_the_store_write_rate_says_how_busy_the_firestore_emulator_was_when_it_was_measured():
    assert cores_note({"Firestore emulator": 0.974, "whole machine": 1.5}, "Firestore emulator") == (
        ", Firestore emulator 0.97 cores"
    )
    assert cores_note(None, "Firestore emulator") == ""  # a run from before the CPU figures
