"""Real shippers and their exact requests against a running service: gunicorn and run_worker on the embedded backends.

Each test starts the API (the production settings, API keys on) and, where logs must
end up stored, a worker; then ships as the client does and reads the store: every
log processed, redacted, with its event time, severity and attributes. The limits
are checked through the real server too (its buffering worker reads each body whole
before the app sees it), reading the queue table for what was queued.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace import TracerProvider

from conftest import require_or_skip
from processing.models import QueueMessage
from tenants.models import Tenant, TenantAPIKey
from tests.reliability.checks import records_of, wait_for
from tests.shippers import shipper_requests, syslog_ng
from tests.shippers.otel_sdk import ship
from tests.shippers.otlp_examples import SPEC_EXAMPLE, SPEC_EXAMPLE_VARIANT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MiB = 1024 * 1024
# No simulated work: these tests are about what arrives, not how long it takes.
SERVICE = {"INGEST_AUTH": "api_key", "PROCESSING_DELAY_PER_CHAR": 0}


def tenant_with_key(tenant_id: str, rate: int = 1_000_000) -> str:
    tenant = Tenant.objects.create(id=tenant_id, rate_limit_per_minute=rate)
    _, key = TenantAPIKey.objects.create_key(name="shipper", tenant=tenant)
    return key


def stored(tenant_id: str, count: int, timeout: float = 90.0) -> dict:
    """The tenant's records once ``count`` of them are processed (by log id)."""
    wait_for(
        lambda: len(records_of([tenant_id], "processed")) >= count,
        timeout=timeout,
        interval=0.5,
        message=f"{count} processed logs of {tenant_id}",
    )
    records = records_of([tenant_id])
    assert len(records) == count
    return {log_id: record for (_, log_id), record in records.items()}


@pytest.fixture
def api_and_worker(services):
    api = services.api(**SERVICE)
    services.worker("--concurrency", "4", **SERVICE)
    return api


def test_the_opentelemetry_sdk_and_the_specifications_otlp_json_ship_to_a_running_service(api_and_worker):
    api = api_and_worker
    key = tenant_with_key("otel-shop")
    tracer = TracerProvider().get_tracer("shop.tests")
    spans = {}

    def emit(logger):
        with tracer.start_as_current_span("checkout") as span:
            logger.warning(
                "Card declined for 555-0199", extra={"caller": "call me on 555-0100", "attempt": 2}
            )
            logger.info("Retrying payment")
            try:
                raise ValueError("gateway timeout")
            except ValueError:
                logger.exception("Payment failed")
            spans[logger.name] = span.get_span_context()

    endpoint = api.base_url + "/v1/logs"
    exporters = [
        ship(endpoint, {"Authorization": f"Bearer {key}"}, compression, emit)
        for compression in (Compression.NoCompression, Compression.Gzip)
    ]
    assert [exporter.results for exporter in exporters] == [[LogRecordExportResult.SUCCESS]] * 2

    for example in (SPEC_EXAMPLE, SPEC_EXAMPLE_VARIANT):
        status, headers, body = api.post(
            "/v1/logs", json.dumps(example).encode(), {"Content-Type": "application/json", "X-API-Key": key}
        )
        assert (status, headers["Content-Type"], json.loads(body)) == (200, "application/json", {})

    records = list(stored("otel-shop", 8).values())
    assert {record.source for record in records} == {"otlp"}
    by_text = {}
    for record in records:
        by_text.setdefault(record.modified_data, []).append(record)
    assert sorted(by_text) == sorted(
        [
            "Card declined for [REDACTED]",
            "Retrying payment",
            "Payment failed",
            "Example log record",
            '{"event":"call [REDACTED]"}',
        ]
    )
    for declined in by_text["Card declined for [REDACTED]"]:
        assert declined.severity == "WARN"
        assert declined.attributes["caller"] == "call me on [REDACTED]"
        assert declined.attributes["attempt"] == 2
        assert declined.attributes["service.name"] == "shop"
        span = next(span for name, span in spans.items() if declined.attributes["otel.scope.name"] == name)
        assert declined.attributes["trace_id"] == format(span.trace_id, "032x")
        assert declined.attributes["span_id"] == format(span.span_id, "016x")
        assert abs((datetime.now(UTC) - declined.event_time).total_seconds()) < 300
    for failed in by_text["Payment failed"]:
        assert failed.attributes["exception.type"] == "ValueError"
        assert "Traceback" in failed.attributes["exception.stacktrace"]
    [example] = by_text["Example log record"]
    assert example.event_time == datetime(2018, 12, 13, 14, 51, 0, 300000, tzinfo=UTC)
    assert (example.severity, example.attributes["int.attribute"]) == ("Information", 10)
    assert example.attributes["trace_id"] == "5b8efff798038103d269b633813fc60c"
    [variant] = by_text['{"event":"call [REDACTED]"}']
    assert (variant.severity, variant.attributes["int.attribute"]) == ("ERROR", 10)


def test_vector_and_fluent_bit_requests_of_over_a_mebibyte_are_accepted_and_all_stored(api_and_worker):
    api = api_and_worker
    key = tenant_with_key("shippers")
    requests = [
        shipper_requests.vector_json_gzip(950, size=1150, key=key),
        shipper_requests.vector_ndjson(200, size=120, key=key),
        shipper_requests.fluent_bit_json_lines_gzip(900, size=1200, key=key),
        shipper_requests.fluent_bit_json_lines_gzip(100, size=100, key=key, legacy_type=True),
        shipper_requests.fluent_bit_json(200, size=120, key=key),
    ]
    decoded_sizes = {
        request.name: len(gzip.decompress(request.body) if "gzip" in request.name else request.body)
        for request in requests
    }
    assert decoded_sizes["vector json array + gzip"] > MiB
    assert decoded_sizes["fluent bit json_lines + gzip"] > MiB

    for request in requests:
        status, _, body = api.post("/ingest", request.body, request.headers, timeout=60)
        answer = json.loads(body)
        assert status == 202, (request.name, answer)
        assert (answer["accepted"], answer["rejected"]) == (len(request.messages), 0), request.name

    total = sum(len(request.messages) for request in requests)
    records = stored("shippers", total, timeout=180)
    texts = sorted(record.original_text for record in records.values())
    assert texts == sorted(message for request in requests for message in request.messages)
    assert all("555-01" not in record.modified_data for record in records.values())
    vector = [record for record in records.values() if record.attributes.get("source_type") == "file"]
    fluent = [record for record in records.values() if "stream" in record.attributes]
    assert (len(vector), len(fluent)) == (1150, 1200)
    assert {record.attributes["host"] for record in vector} == {"web-1", "web-2"}
    assert all(record.attributes["file"] == "/var/log/app/app.log" for record in vector)
    assert all(
        record.attributes["kubernetes"] == '{"pod_name":"api-7d9f","namespace_name":"shop"}'
        for record in fluent
    )
    assert all(record.event_time.year == 2026 for record in records.values())


def test_syslog_ng_ships_a_few_hundred_lines_with_a_key_and_all_are_stored(api_and_worker, tmp_path):
    reason = syslog_ng.missing_reason()
    if reason:
        require_or_skip("REQUIRE_SYSLOG_NG", reason)
    api = api_and_worker
    key = tenant_with_key("syslog-host")
    messages = [f"User 555-01{number % 100:02d} logged in (line {number})" for number in range(300)]
    destination = syslog_ng.HttpDestination(url=api.base_url + "/ingest", api_key=key, batch_lines=100)

    with syslog_ng.SyslogNg(destination, workdir=tmp_path) as shipper:
        shipper.send(messages, host="db-1", program="sshd", priority=38)  # auth.info
        try:
            records = stored("syslog-host", len(messages), timeout=60)
        except AssertionError:
            print(shipper.diagnostics())
            raise

    assert sorted(record.original_text for record in records.values()) == sorted(messages)
    for record in records.values():
        assert record.modified_data.startswith("User [REDACTED] logged in")
        assert record.severity == "info"
        assert record.attributes == {"host": "db-1", "program": "sshd", "facility": "auth"}
        assert record.event_time is not None


def otlp_protobuf(texts: list[str]) -> bytes:
    document = {
        "resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": t}} for t in texts]}]}]
    }
    return json_format.ParseDict(document, ExportLogsServiceRequest()).SerializeToString()


def queued(tenant_id: str) -> list[str]:
    return list(QueueMessage.objects.filter(tenant_id=tenant_id).values_list("log_id", flat=True))


def test_the_limits_hold_at_the_real_server(services):
    """Ten MB batches fit the server's buffer; partial success, bombs, encodings and rates answer as documented."""
    api = services.api(**SERVICE)
    key = tenant_with_key("limits")
    auth = {"X-API-Key": key}

    # Just under INGEST_MAX_BODY_BYTES (10 MiB): 1,000 logs of 10,000 characters, uncompressed.
    big = b"".join(
        json.dumps({"log_id": f"big-{n}", "message": f"{n} " + "y" * 9_990}).encode() + b"\n"
        for n in range(1000)
    )
    assert 9.5 * MiB < len(big) < 10 * MiB
    status, _, body = api.post("/ingest", big, {"Content-Type": "application/x-ndjson", **auth}, timeout=60)
    assert (status, json.loads(body)["accepted"]) == (202, 1000)
    status, headers, _ = api.post(
        "/v1/logs",
        otlp_protobuf(["z" * 9_000] * 1000),
        {"Content-Type": "application/x-protobuf", **auth},
        timeout=60,
    )
    assert (status, headers["Content-Type"]) == (200, "application/x-protobuf")
    assert len(queued("limits")) == 2000
    QueueMessage.objects.all().delete()

    status, _, body = api.post(
        "/ingest", b" " * (10 * MiB + 1), {"Content-Type": "application/json", **auth}, timeout=60
    )
    assert (status, json.loads(body)["error"]) == (413, "payload_too_large")

    partial = b'{"log_id": "ok-1", "message": "fine"}\n{"log_id": "bad", "message": ""}\n{oops\n'
    status, _, body = api.post("/ingest", partial, {"Content-Type": "application/x-ndjson", **auth})
    assert status == 202
    assert [error["index"] for error in json.loads(body)["errors"]] == [1, 2]
    assert queued("limits") == ["ok-1"]

    bomb = gzip.compress(b"[" + b" " * (64 * MiB))
    status, _, body = api.post(
        "/ingest", bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip", **auth}
    )
    assert (status, json.loads(body)["error"]) == (413, "payload_too_large")
    status, _, _ = api.post(
        "/ingest", b"{}", {"Content-Type": "application/json", "Content-Encoding": "br", **auth}
    )
    assert status == 415

    status, _, body = api.post(
        "/ingest",
        json.dumps({"message": "x" * 10_001}).encode(),
        {"Content-Type": "application/json", **auth},
    )
    assert (status, json.loads(body)["error"]) == (413, "payload_too_large")

    Tenant.objects.create(id="other")
    mixed = json.dumps([{"log_id": "mine", "message": "a"}, {"tenant_id": "other", "message": "b"}]).encode()
    status, _, body = api.post("/ingest", mixed, {"Content-Type": "application/json", **auth})
    assert status == 202
    assert json.loads(body)["errors"][0]["error"] == "forbidden_tenant"
    assert queued("other") == []

    small_key = tenant_with_key("small-rate", rate=5)
    five = json.dumps([{"message": f"log {n}"} for n in range(5)]).encode()
    headers = {"Content-Type": "application/json", "X-API-Key": small_key}
    assert api.post("/ingest", five, headers)[0] == 202
    status, answer_headers, body = api.post(
        "/ingest", json.dumps([{"message": "one more"}]).encode(), headers
    )
    assert status == 429
    assert int(answer_headers["Retry-After"]) >= 1
    assert len(queued("small-rate")) == 5
