"""The OpenTelemetry Python SDK set up as docs/shipping.md tells a Django project to: LoggingHandler + OTLPLogExporter.

``ship(endpoint, headers, compression, emit)`` builds a provider with a batch
processor, calls ``emit(logger)`` with a stdlib logger whose records go through
the SDK's ``LoggingHandler``, flushes, shuts down, and returns the exporter,
whose ``results`` say what each export reported.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Callable

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


class RecordingExporter(OTLPLogExporter):
    """The SDK's exporter, keeping what each export reported."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.results = []

    def export(self, batch):
        result = super().export(batch)
        self.results.append(result)
        return result


def ship(
    endpoint: str,
    headers: dict[str, str],
    compression,
    emit: Callable[[logging.Logger], None],
    *,
    service_name: str = "shop",
) -> RecordingExporter:
    exporter = RecordingExporter(endpoint=endpoint, headers=headers, compression=compression, timeout=10)
    provider = LoggerProvider(
        resource=Resource.create({"service.name": service_name, "deployment.environment": "test"})
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=60_000))
    with warnings.catch_warnings():
        # opentelemetry-sdk 1.45 deprecates its LoggingHandler for opentelemetry-instrumentation-logging's;
        # it is still the one the SDK ships and documents.
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    # A logger of its own per call, so no handler outlives the test that added it.
    logger = logging.getLogger(f"shop.checkout.{uuid.uuid4().hex[:8]}")
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
