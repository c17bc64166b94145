"""The OpenTelemetry SDK and a Vector batch shipping to the service on the Pub/Sub and Firestore emulators.

The same processes as tests/shippers/test_service.py, on QUEUE_BACKEND=pubsub and
LOG_STORE_BACKEND=firestore (``make run-gcp-local``'s setup): every log lands in
Firestore under its tenant, redacted, with its attributes.
"""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk._logs.export import LogRecordExportResult

from tenants.models import Tenant, TenantAPIKey
from tests.reliability.checks import records_of, wait_for
from tests.reliability.conftest import unique_tenants
from tests.shippers import shipper_requests
from tests.shippers.otel_sdk import ship

pytestmark = [pytest.mark.slow, pytest.mark.emulators, pytest.mark.django_db(transaction=True)]

SERVICE = {"INGEST_AUTH": "api_key", "PROCESSING_DELAY_PER_CHAR": 0}


def test_the_sdk_and_vector_ship_through_pubsub_into_firestore(services, google_cloud):
    [tenant_id] = unique_tenants("shipped")
    tenant = Tenant.objects.create(id=tenant_id)
    _, key = TenantAPIKey.objects.create_key(name="shipper", tenant=tenant)
    api = services.api(**SERVICE)
    services.worker("--concurrency", "4", **SERVICE)

    def emit(logger):
        logger.warning("Card declined for 555-0199", extra={"caller": "call me on 555-0100"})
        logger.info("Retrying payment")

    exporter = ship(api.base_url + "/v1/logs", {"X-API-Key": key}, Compression.Gzip, emit)
    assert exporter.results == [LogRecordExportResult.SUCCESS]
    vector = shipper_requests.vector_json_gzip(200, size=120, key=key)
    status, _, _ = api.post("/ingest", vector.body, vector.headers, timeout=30)
    assert status == 202

    wait_for(
        lambda: len(records_of([tenant_id], "processed")) >= 202, timeout=120, interval=1, message="202 logs"
    )
    records = list(records_of([tenant_id]).values())
    assert len(records) == 202
    [declined] = [record for record in records if record.source == "otlp" and record.severity == "WARN"]
    assert declined.modified_data == "Card declined for [REDACTED]"
    assert declined.attributes["caller"] == "call me on [REDACTED]"
    assert declined.attributes["service.name"] == "shop"
    shipped = [record for record in records if record.source == "json_upload"]
    assert sorted(record.original_text for record in shipped) == sorted(vector.messages)
    assert all("555-01" not in record.modified_data for record in shipped)
    assert {record.attributes["host"] for record in shipped} == {"web-1"}
