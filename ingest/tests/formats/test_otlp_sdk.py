"""What the real OpenTelemetry Python SDK sends (LoggingHandler + OTLPLogExporter) decodes into records.

The exporter posts to a capture server on 127.0.0.1 that answers as /v1/logs will:
the body through ``compression.read_body`` and ``otlp.parse_export_request``, and an
``ExportLogsServiceResponse`` back. So both directions are checked against the SDK.
"""

import io
import logging
import warnings
from datetime import UTC, datetime

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from ingest.formats import otlp
from ingest.formats.compression import read_body
from ingest.formats.limits import IntakeLimits
from tests.shippers.capture import CaptureServer
from tests.shippers.otel_sdk import RecordingExporter

LIMITS = IntakeLimits()


class Intake:
    """The capture server's answer: decode like /v1/logs, keep the batch, answer 200."""

    def __init__(self) -> None:
        self.batches = []

    def __call__(self, request):
        body = read_body(
            io.BytesIO(request.body),
            encoding=request.header("Content-Encoding"),
            content_length=request.header("Content-Length"),
            max_body_bytes=LIMITS.max_body_bytes,
            max_decompressed_bytes=LIMITS.max_decompressed_bytes,
        )
        media_type = request.header("Content-Type")
        batch = otlp.parse_export_request(body, media_type, LIMITS)
        self.batches.append(batch)
        answer_type = otlp.response_media_type(media_type)
        return 200, {"Content-Type": answer_type}, otlp.export_response(answer_type, batch)


@pytest.fixture
def intake():
    answer = Intake()
    with CaptureServer(answer) as server:
        server.intake = answer
        yield server


def ship(server, compression, emit):
    """Set the SDK up as a Django project's LOGGING would (docs/shipping.md), run ``emit(logger)``, flush."""
    exporter = RecordingExporter(
        endpoint=server.url("/v1/logs"),
        headers={"Authorization": "Bearer test-key"},
        compression=compression,
        timeout=10,
    )
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "shop", "deployment.environment": "test"})
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=60_000))
    with warnings.catch_warnings():
        # opentelemetry-sdk 1.45 deprecates its LoggingHandler for opentelemetry-instrumentation-logging's;
        # it is still the one the SDK ships and documents.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger = logging.getLogger("shop.checkout")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        emit(logger)
        assert provider.force_flush(timeout_millis=10_000)
    finally:
        logger.removeHandler(handler)
        provider.shutdown()
    return exporter


@pytest.mark.parametrize(
    ("compression", "content_encoding"),
    [(Compression.NoCompression, None), (Compression.Gzip, "gzip"), (Compression.Deflate, "deflate")],
)
def test_the_sdk_exporter_ships_records_that_decode_whole(intake, compression, content_encoding):
    tracer = TracerProvider().get_tracer("shop.tests")

    def emit(logger):
        with tracer.start_as_current_span("checkout") as span:
            logger.warning("Card declined for 555-0199", extra={"user.id": "u-17", "attempt": 2})
            logger.info("Retrying payment")
            try:
                raise ValueError("gateway timeout")
            except ValueError:
                logger.exception("Payment failed")
            emit.span = span.get_span_context()

    exporter = ship(intake, compression, emit)

    assert exporter.results == [LogRecordExportResult.SUCCESS]
    (request,) = intake.requests
    assert request.path == "/v1/logs"
    assert request.header("Content-Type") == "application/x-protobuf"
    assert request.header("Content-Encoding") == content_encoding
    assert request.header("Authorization") == "Bearer test-key"

    (batch,) = intake.intake.batches
    assert (batch.accepted, batch.rejected) == (3, 0)
    warning, _, failure = batch.records
    assert [record.text for record in batch.records] == [
        "Card declined for 555-0199",
        "Retrying payment",
        "Payment failed",
    ]
    assert [record.severity for record in batch.records] == ["WARN", "INFO", "ERROR"]
    assert all(record.tenant_id is None and record.log_id is None for record in batch.records)

    trace_id = format(emit.span.trace_id, "032x")
    span_id = format(emit.span.span_id, "016x")
    for record in batch.records:
        assert record.attributes["trace_id"] == trace_id
        assert record.attributes["span_id"] == span_id
        assert record.attributes["service.name"] == "shop"
        assert record.attributes["deployment.environment"] == "test"
        assert record.attributes["otel.scope.name"] == "shop.checkout"
        assert record.attributes["code.function.name"] == "emit"
        event_time = datetime.fromisoformat(record.event_time)
        assert event_time.tzinfo == UTC
        assert abs((datetime.now(UTC) - event_time).total_seconds()) < 60
    assert warning.attributes["user.id"] == "u-17"
    assert warning.attributes["attempt"] == 2
    assert failure.attributes["exception.type"] == "ValueError"
    assert failure.attributes["exception.message"] == "gateway timeout"
    assert "Traceback" in failure.attributes["exception.stacktrace"]


def test_the_sdk_takes_a_partial_success_as_success_and_does_not_resend(intake):
    def emit(logger):
        logger.info("a real log")
        logger.info("   ")  # a blank body: rejected

    exporter = ship(intake, Compression.Gzip, emit)

    assert exporter.results == [LogRecordExportResult.SUCCESS]
    assert len(intake.requests) == 1
    (batch,) = intake.intake.batches
    assert (batch.accepted, batch.rejected) == (1, 1)


def test_the_sdk_does_not_resend_after_a_400_status(intake):
    def refuse(request):
        return 400, {"Content-Type": otlp.MEDIA_PROTOBUF}, otlp.status_body(otlp.MEDIA_PROTOBUF, 400, "bad")

    intake.answer = refuse

    exporter = ship(intake, Compression.NoCompression, lambda logger: logger.info("x"))

    assert exporter.results == [LogRecordExportResult.FAILURE]
    assert len(intake.requests) == 1
