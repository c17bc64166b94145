"""POST /v1/logs: OTLP/HTTP protobuf and JSON, answered in the request's encoding, errors as google.rpc.Status."""

import gzip
import json

import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from core.envelope import SOURCE_OTLP
from tenants.models import Tenant
from tests.shippers.otlp_examples import SPEC_EXAMPLE

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def record(body, **fields):
    return {"body": {"stringValue": body}, **fields}


def document(*records):
    return {"resourceLogs": [{"scopeLogs": [{"logRecords": list(records)}]}]}


def protobuf(doc) -> bytes:
    return json_format.ParseDict(doc, ExportLogsServiceRequest()).SerializeToString()


def post(client, body, content_type=PROTOBUF, tenant="acme", **headers):
    if tenant is not None:
        headers["X-Tenant-ID"] = tenant
    return client.post("/v1/logs", data=body, content_type=content_type, headers=headers)


def status_of(response) -> status_pb2.Status:
    if response["Content-Type"] == PROTOBUF:
        return status_pb2.Status.FromString(response.content)
    return json_format.Parse(response.content, status_pb2.Status())


def export_response(response) -> ExportLogsServiceResponse:
    if response["Content-Type"] == PROTOBUF:
        return ExportLogsServiceResponse.FromString(response.content)
    return json_format.Parse(response.content, ExportLogsServiceResponse())


pytestmark = [pytest.mark.django_db]


@pytest.mark.usefixtures("open_mode")
class TestAccepting:
    def test_protobuf_is_queued_and_answered_with_an_empty_protobuf_response(self, client, queue):
        response = post(client, protobuf(document(record("User 555-0199 logged in"))))

        assert response.status_code == 200
        assert response["Content-Type"] == PROTOBUF
        assert response.content == b""  # an ExportLogsServiceResponse without partial_success
        [envelope] = queue.queued_envelopes()
        assert (envelope.tenant_id, envelope.source, envelope.text) == (
            "acme",
            SOURCE_OTLP,
            "User 555-0199 logged in",
        )

    def test_the_specifications_json_example_is_queued_with_everything_it_says(self, client, queue):
        response = post(client, json.dumps(SPEC_EXAMPLE), JSON)

        assert response.status_code == 200
        assert response["Content-Type"] == JSON
        assert response.json() == {}
        [envelope] = queue.queued_envelopes()
        assert envelope.text == "Example log record"
        assert envelope.severity == "Information"
        assert envelope.event_time == "2018-12-13T14:51:00.300000+00:00"
        assert envelope.attributes == {
            "trace_id": "5b8efff798038103d269b633813fc60c",
            "span_id": "eee19b7ec3c1b174",
            "string.attribute": "some string",
            "boolean.attribute": True,
            "int.attribute": 10,
            "double.attribute": 637.704,
            "array.attribute": '["many","values"]',
            "map.attribute": '{"some.map.key":"some value"}',
            "otel.scope.name": "my.library",
            "otel.scope.version": "1.0.0",
            "my.scope.attribute": "some scope attribute",
            "service.name": "my.service",
        }

    def test_int64_as_strings_and_severity_numbers_as_the_specification_allows(self, client, queue):
        doc = document(record("x", timeUnixNano="1544712660300000000", severityNumber=17))

        assert post(client, json.dumps(doc), JSON).status_code == 200

        [envelope] = queue.queued_envelopes()
        assert (envelope.event_time, envelope.severity) == ("2018-12-13T14:51:00.300000+00:00", "ERROR")

    @pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
    def test_a_gzip_body_is_decoded(self, client, queue, content_type):
        doc = document(record("one"), record("two"))
        raw = protobuf(doc) if content_type == PROTOBUF else json.dumps(doc).encode()

        response = post(client, gzip.compress(raw), content_type, **{"Content-Encoding": "gzip"})

        assert response.status_code == 200
        assert [envelope.text for envelope in queue.queued_envelopes()] == ["one", "two"]

    def test_log_record_uid_is_the_log_id_else_one_is_generated(self, client, queue):
        uid = {"key": "log.record.uid", "value": {"stringValue": "01J0ABCDEF"}}
        post(client, protobuf(document(record("mine", attributes=[uid]), record("generated"))))

        first, second = queue.queued_envelopes()
        assert first.log_id == "01J0ABCDEF"
        assert "log.record.uid" not in first.attributes
        assert len(second.log_id) == 36

    @pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
    def test_rejected_records_are_a_partial_success_in_the_requests_encoding(
        self, client, queue, content_type
    ):
        doc = document(record("good"), record("   "), {"severityText": "INFO"})
        raw = protobuf(doc) if content_type == PROTOBUF else json.dumps(doc)

        response = post(client, raw, content_type)

        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        partial = export_response(response).partial_success
        assert partial.rejected_log_records == 2
        assert "2 of 3 log records rejected" in partial.error_message
        assert "logRecords[1]: body must not be empty" in partial.error_message
        assert [envelope.text for envelope in queue.queued_envelopes()] == ["good"]

    def test_a_repeated_uid_is_rejected_as_a_duplicate(self, client, queue):
        uid = {"key": "log.record.uid", "value": {"stringValue": "same"}}

        response = post(
            client, protobuf(document(record("a", attributes=[uid]), record("b", attributes=[uid])))
        )

        partial = export_response(response).partial_success
        assert partial.rejected_log_records == 1
        assert "repeats record 0" in partial.error_message
        assert [envelope.text for envelope in queue.queued_envelopes()] == ["a"]

    def test_an_empty_request_is_a_success_with_nothing_queued(self, client, queue):
        response = client.generic(
            "POST", "/v1/logs", b"", PROTOBUF, CONTENT_TYPE=PROTOBUF, headers={"X-Tenant-ID": "acme"}
        )

        # The specification: a request carrying no telemetry is answered with success.
        assert response.status_code == 200
        assert queue.queued_envelopes() == []


@pytest.mark.usefixtures("open_mode")
class TestRefusing:
    @pytest.mark.parametrize("content_type", [PROTOBUF, JSON])
    def test_no_valid_record_is_400_with_a_bad_request_status(self, client, queue, content_type):
        doc = document(record(""), {"severityText": "INFO"})
        raw = protobuf(doc) if content_type == PROTOBUF else json.dumps(doc)

        response = post(client, raw, content_type)

        assert response.status_code == 400
        assert response["Content-Type"] == content_type
        status = status_of(response)
        assert status.code == code_pb2.INVALID_ARGUMENT
        bad_request = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(bad_request)
        assert [violation.field for violation in bad_request.field_violations] == [
            "resourceLogs[0].scopeLogs[0].logRecords[0]",
            "resourceLogs[0].scopeLogs[0].logRecords[1]",
        ]
        assert queue.queued_envelopes() == []

    def test_open_mode_needs_x_tenant_id(self, client, queue):
        response = post(client, protobuf(document(record("x"))), tenant=None)

        assert response.status_code == 400
        assert "X-Tenant-ID" in status_of(response).message

    @pytest.mark.parametrize(
        ("body", "content_type", "status"),
        [
            (b"\xff\xff\xff", PROTOBUF, 400),
            (b"{not json", JSON, 400),
            (b"[1]", JSON, 400),
            (b"<logs/>", "application/xml", 415),
        ],
    )
    def test_bodies_that_are_not_export_requests(self, client, queue, body, content_type, status):
        response = post(client, body, content_type)

        assert response.status_code == status
        assert status_of(response).message
        assert queue.queued_envelopes() == []

    def test_an_unknown_content_encoding_is_415(self, client, queue):
        response = post(client, protobuf(document(record("x"))), **{"Content-Encoding": "br"})

        assert response.status_code == 415
        assert response["Content-Type"] == PROTOBUF
        assert "Content-Encoding 'br'" in status_of(response).message

    def test_a_bomb_is_413(self, client, queue, settings):
        settings.INGEST_MAX_DECOMPRESSED_BYTES = 1024 * 1024

        response = post(client, gzip.compress(b"\x00" * (32 * 1024 * 1024)), **{"Content-Encoding": "gzip"})

        assert response.status_code == 413
        assert status_of(response).code == code_pb2.RESOURCE_EXHAUSTED
        assert queue.queued_envelopes() == []

    def test_more_records_than_the_batch_limit_is_413(self, client, queue, settings):
        settings.INGEST_MAX_BATCH_LINES = 2

        response = post(client, protobuf(document(record("a"), record("b"), record("c"))))

        assert response.status_code == 413
        assert queue.queued_envelopes() == []

    def test_over_the_rate_is_429_with_retry_after_and_retry_info(self, client, queue):
        Tenant.objects.create(id="slow", rate_limit_per_minute=2)
        assert post(client, protobuf(document(record("a"), record("b"))), tenant="slow").status_code == 200

        response = post(client, protobuf(document(record("c"))), tenant="slow")

        assert response.status_code == 429
        retry_after = int(response["Retry-After"])
        assert retry_after >= 1
        status = status_of(response)
        retry_info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry_info)
        assert retry_info.retry_delay.seconds == retry_after
        assert len(queue.queued_envelopes()) == 2

    def test_a_queue_outage_is_503_with_retry_after(self, client, settings):
        settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"

        response = post(client, protobuf(document(record("x"))))

        assert response.status_code == 503
        assert response["Retry-After"]
        assert status_of(response).code == code_pb2.UNAVAILABLE

    def test_a_wrong_method_is_405_as_a_status(self, client):
        response = client.get("/v1/logs")

        assert response.status_code == 405
        assert response["Content-Type"] == JSON
        assert response["Allow"] == "POST"
        assert status_of(response).message


@pytest.mark.usefixtures("api_key_mode")
class TestKeys:
    def test_the_key_names_the_tenant(self, client, queue, acme_key):
        response = post(
            client, protobuf(document(record("x"))), tenant=None, Authorization=f"Bearer {acme_key}"
        )

        assert response.status_code == 200
        assert queue.queued_envelopes()[0].tenant_id == "acme"

    def test_no_key_is_401_with_a_challenge_and_a_status(self, client, queue, acme):
        response = post(client, protobuf(document(record("x"))), tenant=None)

        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert status_of(response).code == code_pb2.UNAUTHENTICATED

    def test_x_tenant_id_of_another_tenant_is_403(self, client, queue, acme_key, beta):
        response = post(client, protobuf(document(record("x"))), tenant="beta_inc", **{"X-API-Key": acme_key})

        assert response.status_code == 403
        assert status_of(response).code == code_pb2.PERMISSION_DENIED
        assert queue.queued_envelopes() == []

    def test_an_inactive_tenant_is_403(self, client, queue, acme, acme_key):
        acme.active = False
        acme.save()

        response = post(client, protobuf(document(record("x"))), tenant=None, **{"X-API-Key": acme_key})

        assert response.status_code == 403
        assert queue.queued_envelopes() == []
