"""OTLP/HTTP logs: requests in protobuf and OTLP JSON into records; responses and Status bodies out."""

import copy
import json

import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from core.errors import InvalidRequest, PayloadTooLarge, RateLimited, UnsupportedMediaType
from ingest.formats import otlp
from ingest.formats.fields import DROPPED_ATTRIBUTES
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import INVALID_TEXT, INVALID_TRACE_ID, MISSING_TEXT, IntakeRecord, RecordError

LIMITS = IntakeLimits()

# Shaped like the OTLP specification's JSON example for logs (opentelemetry-proto,
# examples/logs.json): a resource, a scope with attributes, one record whose attributes
# cover every AnyValue kind, int64 as a number, upper-case hex ids.
SPEC_SHAPED_REQUEST = {
    "resourceLogs": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
            "scopeLogs": [
                {
                    "scope": {
                        "name": "checkout.payments",
                        "version": "2.1.0",
                        "attributes": [{"key": "team", "value": {"stringValue": "payments"}}],
                    },
                    "logRecords": [
                        {
                            "timeUnixNano": 1714564800123456789,
                            "observedTimeUnixNano": 1714564801000000000,
                            "severityNumber": 9,
                            "severityText": "Information",
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "EEE19B7EC3C1B174",
                            "body": {"stringValue": "Card declined for 555-0199"},
                            "attributes": [
                                {"key": "string.attribute", "value": {"stringValue": "a string"}},
                                {"key": "boolean.attribute", "value": {"boolValue": True}},
                                {"key": "int.attribute", "value": {"intValue": 42}},
                                {"key": "double.attribute", "value": {"doubleValue": 1.5}},
                                {
                                    "key": "array.attribute",
                                    "value": {
                                        "arrayValue": {
                                            "values": [{"stringValue": "one"}, {"stringValue": "two"}]
                                        }
                                    },
                                },
                                {
                                    "key": "map.attribute",
                                    "value": {
                                        "kvlistValue": {
                                            "values": [
                                                {"key": "inner.key", "value": {"stringValue": "inner"}}
                                            ]
                                        }
                                    },
                                },
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}

EXPECTED_RECORD = IntakeRecord(
    text="Card declined for 555-0199",
    tenant_id=None,
    log_id=None,
    event_time="2024-05-01T12:00:00.123456+00:00",
    severity="Information",
    attributes={
        "trace_id": "5b8efff798038103d269b633813fc60c",
        "span_id": "eee19b7ec3c1b174",
        "string.attribute": "a string",
        "boolean.attribute": True,
        "int.attribute": 42,
        "double.attribute": 1.5,
        "array.attribute": '["one","two"]',
        "map.attribute": '{"inner.key":"inner"}',
        "otel.scope.name": "checkout.payments",
        "otel.scope.version": "2.1.0",
        "team": "payments",
        "service.name": "checkout",
    },
)


def json_body(document) -> bytes:
    return json.dumps(document).encode()


def request_document(*log_records, resource_attributes=(), scope=None):
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": list(resource_attributes)},
                "scopeLogs": [{"scope": scope or {}, "logRecords": list(log_records)}],
            }
        ]
    }


def string_attribute(key, value):
    return {"key": key, "value": {"stringValue": value}}


def parse_json(document, limits=LIMITS):
    return otlp.parse_export_request(json_body(document), otlp.MEDIA_JSON, limits)


def only_record(document):
    batch = parse_json(document)
    assert batch.errors == ()
    (record,) = batch.records
    return record


# -- OTLP JSON ---------------------------------------------------------------------------------


def test_it_decodes_the_specification_shaped_json_request():
    batch = parse_json(SPEC_SHAPED_REQUEST)

    assert batch.items == ((0, EXPECTED_RECORD),)
    assert list(batch.records[0].attributes) == list(EXPECTED_RECORD.attributes)  # the order bounds keep


def test_protobuf_bytes_decode_to_the_same_records():
    message = json_format.ParseDict(
        _with_base64_ids(SPEC_SHAPED_REQUEST), ExportLogsServiceRequest(), ignore_unknown_fields=True
    )

    batch = otlp.parse_export_request(message.SerializeToString(), otlp.MEDIA_PROTOBUF, LIMITS)

    assert batch.items == ((0, EXPECTED_RECORD),)


def _with_base64_ids(document):
    """The same request in protobuf's own JSON mapping (base64 ids), to build protobuf bytes from."""
    import base64

    converted = copy.deepcopy(document)
    record = converted["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    for key in ("traceId", "spanId"):
        record[key] = base64.b64encode(bytes.fromhex(record[key])).decode()
    return converted


def test_int64_may_be_a_string_and_enums_are_integers():
    record = only_record(
        request_document(
            {"timeUnixNano": "1714564800000000000", "severityNumber": 17, "body": {"stringValue": "x"}}
        )
    )

    assert (record.event_time, record.severity) == ("2024-05-01T12:00:00.000000+00:00", "ERROR")


def test_unknown_fields_are_ignored_at_every_level():
    document = request_document({"body": {"stringValue": "x"}, "futureField": {"a": 1}})
    document["someNewTopLevelField"] = True
    document["resourceLogs"][0]["resource"]["newResourceThing"] = [1, 2]
    document["resourceLogs"][0]["scopeLogs"][0]["newScopeThing"] = "y"

    assert only_record(document).text == "x"


def test_proto_field_names_are_accepted_too():
    document = {
        "resource_logs": [
            {"scope_logs": [{"log_records": [{"body": {"string_value": "x"}, "trace_id": "00" * 16}]}]}
        ]
    }

    assert only_record(document).attributes == {"trace_id": "00" * 16}


def test_the_observed_time_stands_in_for_a_missing_time():
    record = only_record(
        request_document({"observedTimeUnixNano": "1714564800000000000", "body": {"stringValue": "x"}})
    )

    assert record.event_time == "2024-05-01T12:00:00.000000+00:00"


def test_no_time_at_all_leaves_the_event_time_empty():
    assert only_record(request_document({"body": {"stringValue": "x"}})).event_time == ""


@pytest.mark.parametrize(
    ("fields", "severity"),
    [
        ({"severityText": "warning", "severityNumber": 13}, "warning"),
        ({"severityNumber": 13}, "WARN"),
        ({"severityNumber": 14}, "WARN2"),
        ({"severityNumber": 21}, "FATAL"),
        ({"severityNumber": 0}, ""),
        ({}, ""),
        ({"severityText": "  "}, ""),
    ],
)
def test_severity_is_the_text_else_the_numbers_name(fields, severity):
    assert only_record(request_document({"body": {"stringValue": "x"}, **fields})).severity == severity


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"stringValue": "plain"}, "plain"),
        ({"intValue": "42"}, "42"),
        ({"doubleValue": 2.5}, "2.5"),
        ({"boolValue": False}, "false"),
        ({"bytesValue": "AAE="}, "AAE="),
        ({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 1}]}}, '["a",1]'),
        (
            {"kvlistValue": {"values": [{"key": "event", "value": {"stringValue": "login"}}, {"key": "n"}]}},
            '{"event":"login","n":null}',
        ),
    ],
)
def test_the_body_is_the_text_and_other_kinds_become_compact_json(body, text):
    assert only_record(request_document({"body": body})).text == text


def test_log_record_uid_is_the_log_id_when_it_is_a_valid_identifier():
    record = only_record(
        request_document(
            {"body": {"stringValue": "x"}, "attributes": [string_attribute("log.record.uid", "01HX9Z3ZKJ8Q")]}
        )
    )

    assert (record.log_id, record.attributes) == ("01HX9Z3ZKJ8Q", {})


@pytest.mark.parametrize("uid", [{"stringValue": "not/valid"}, {"stringValue": "__x__"}, {"intValue": 5}])
def test_an_unusable_log_record_uid_stays_an_attribute_and_the_id_is_generated_later(uid):
    record = only_record(
        request_document(
            {"body": {"stringValue": "x"}, "attributes": [{"key": "log.record.uid", "value": uid}]}
        )
    )

    assert record.log_id is None
    assert "log.record.uid" in record.attributes


def test_attribute_collisions_go_to_the_most_specific():
    document = request_document(
        {
            "body": {"stringValue": "x"},
            "spanId": "0102030405060708",
            "attributes": [
                string_attribute("where", "record"),
                string_attribute("span_id", "an attribute"),
                string_attribute("where", "record, again"),
            ],
        },
        resource_attributes=[string_attribute("where", "resource"), string_attribute("host.name", "h1")],
        scope={
            "name": "lib",
            "attributes": [string_attribute("where", "scope"), string_attribute("otel.scope.name", "x")],
        },
    )

    assert only_record(document).attributes == {
        "span_id": "0102030405060708",
        "where": "record",
        "otel.scope.name": "lib",
        "host.name": "h1",
    }


def test_attribute_bounds_drop_resource_detail_before_the_records_own():
    document = request_document(
        {
            "body": {"stringValue": "x"},
            "attributes": [string_attribute(f"record.{n}", "v") for n in range(3)],
        },
        resource_attributes=[string_attribute(f"resource.{n}", "v") for n in range(3)],
    )

    batch = parse_json(document, IntakeLimits(max_attributes=4))

    assert batch.records[0].attributes == {
        "record.0": "v",
        "record.1": "v",
        "record.2": "v",
        "resource.0": "v",
        DROPPED_ATTRIBUTES: 2,
    }


def test_records_are_indexed_across_resources_and_scopes_and_bad_ones_rejected_alone():
    good = {"body": {"stringValue": "ok"}}
    document = {
        "resourceLogs": [
            {"scopeLogs": [{"logRecords": [good, {"timeUnixNano": "1"}]}, {"logRecords": [good]}]},
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {"body": {"stringValue": "x"}, "traceId": "abcd"},
                            {"body": {"stringValue": "x"}, "spanId": "not hex at all!"},
                            {"body": {"stringValue": " "}},
                            good,
                        ]
                    }
                ]
            },
        ]
    }

    batch = parse_json(document)

    assert [index for index, _ in batch.items] == [0, 2, 6]
    assert batch.errors == (
        RecordError(
            1, MISSING_TEXT, "resourceLogs[0].scopeLogs[0].logRecords[1]: the LogRecord has no body."
        ),
        RecordError(
            3,
            INVALID_TRACE_ID,
            "resourceLogs[1].scopeLogs[0].logRecords[0]: trace_id must be 16 bytes (32 hex digits) or empty.",
        ),
        RecordError(
            4,
            INVALID_TRACE_ID,
            "resourceLogs[1].scopeLogs[0].logRecords[1]: span_id must be 8 bytes (16 hex digits) or empty.",
        ),
        RecordError(5, INVALID_TEXT, "resourceLogs[1].scopeLogs[0].logRecords[2]: body must not be empty."),
    )


def test_an_empty_request_has_no_records_and_no_errors():
    for document in ({}, {"resourceLogs": []}, request_document()):
        batch = parse_json(document)
        assert (batch.accepted, batch.rejected) == (0, 0)


def test_more_log_records_than_the_batch_limit_is_413():
    document = request_document(*[{"body": {"stringValue": "x"}}] * 3)

    assert parse_json(document, IntakeLimits(max_batch_lines=3)).accepted == 3
    with pytest.raises(PayloadTooLarge, match="4 log records; the limit is 3"):
        parse_json(request_document(*[{"body": {"stringValue": "x"}}] * 4), IntakeLimits(max_batch_lines=3))


@pytest.mark.parametrize(
    ("body", "media_type", "error"),
    [
        (b"{", otlp.MEDIA_JSON, "malformed JSON"),
        (b"[]", otlp.MEDIA_JSON, "expected an OTLP JSON ExportLogsServiceRequest"),
        (b'{"resourceLogs": "nope"}', otlp.MEDIA_JSON, "not an OTLP JSON ExportLogsServiceRequest"),
        (
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon"}]}]}]}',
            otlp.MEDIA_JSON,
            "not an OTLP JSON",
        ),
        (b"\xff\xfe", otlp.MEDIA_JSON, "not valid UTF-8"),
        (b"\x0a\xff\xff\xff\xff\x0f", otlp.MEDIA_PROTOBUF, "not a protobuf ExportLogsServiceRequest"),
        (b"garbage that is not protobuf", otlp.MEDIA_PROTOBUF, "not a protobuf ExportLogsServiceRequest"),
    ],
)
def test_a_body_that_is_not_an_export_request_is_400(body, media_type, error):
    with pytest.raises(InvalidRequest, match=error):
        otlp.parse_export_request(body, media_type, LIMITS)


def test_other_media_types_are_415():
    with pytest.raises(UnsupportedMediaType, match="application/x-protobuf or application/json"):
        otlp.decode_request(b"x", "text/plain")


# -- responses ----------------------------------------------------------------------------------


def test_full_success_leaves_partial_success_unset():
    batch = parse_json(request_document({"body": {"stringValue": "x"}}))

    assert otlp.export_response(otlp.MEDIA_JSON, batch) == b"{}"
    decoded = ExportLogsServiceResponse.FromString(otlp.export_response(otlp.MEDIA_PROTOBUF, batch))
    assert not decoded.HasField("partial_success")


def test_partial_success_counts_the_rejected_records_and_says_why():
    batch = parse_json(request_document({"body": {"stringValue": "x"}}, {}, {"body": {"stringValue": ""}}))

    as_json = json.loads(otlp.export_response(otlp.MEDIA_JSON, batch))
    as_protobuf = ExportLogsServiceResponse.FromString(otlp.export_response(otlp.MEDIA_PROTOBUF, batch))

    message = (
        "2 of 3 log records rejected: resourceLogs[0].scopeLogs[0].logRecords[1]: the LogRecord has no body.; "
        "resourceLogs[0].scopeLogs[0].logRecords[2]: body must not be empty.."
    )
    assert as_json == {"partialSuccess": {"rejectedLogRecords": "2", "errorMessage": message}}
    assert as_protobuf.partial_success.rejected_log_records == 2
    assert as_protobuf.partial_success.error_message == message


def test_the_rejection_message_shows_the_first_few_reasons():
    batch = parse_json(request_document(*[{}] * 8))

    assert otlp.rejection_message(batch).endswith("; and 3 more.")


@pytest.mark.parametrize("media_type", [otlp.MEDIA_JSON, otlp.MEDIA_PROTOBUF])
def test_an_error_status_names_the_bad_records(media_type):
    batch = parse_json(request_document({}))

    body = otlp.status_body(media_type, 400, "No valid log record.", errors=batch.errors)

    status = _decode_status(body, media_type)
    assert (status.code, status.message) == (code_pb2.INVALID_ARGUMENT, "No valid log record.")
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [(violation.field, violation.description) for violation in bad_request.field_violations] == [
        (
            "resourceLogs[0].scopeLogs[0].logRecords[0]",
            "missing_text: resourceLogs[0].scopeLogs[0].logRecords[0]: the LogRecord has no body.",
        )
    ]


@pytest.mark.parametrize("media_type", [otlp.MEDIA_JSON, otlp.MEDIA_PROTOBUF])
def test_a_throttled_status_carries_retry_info(media_type):
    body = otlp.error_status_body(RateLimited("Over the rate.", retry_after=6.2), media_type)

    status = _decode_status(body, media_type)
    assert (status.code, status.message) == (code_pb2.RESOURCE_EXHAUSTED, "Over the rate.")
    retry_info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry_info)
    assert retry_info.retry_delay.seconds == 7


@pytest.mark.parametrize(
    ("http_status", "code"),
    [
        (401, code_pb2.UNAUTHENTICATED),
        (403, code_pb2.PERMISSION_DENIED),
        (413, code_pb2.RESOURCE_EXHAUSTED),
        (415, code_pb2.INVALID_ARGUMENT),
        (503, code_pb2.UNAVAILABLE),
        (418, code_pb2.UNKNOWN),
    ],
)
def test_each_http_status_has_a_grpc_code(http_status, code):
    status = _decode_status(otlp.status_body(otlp.MEDIA_PROTOBUF, http_status, "x"), otlp.MEDIA_PROTOBUF)

    assert status.code == code
    assert not status.details


def test_the_answer_is_in_the_requests_encoding_and_json_for_strangers():
    assert otlp.response_media_type(otlp.MEDIA_PROTOBUF) == "application/x-protobuf"
    assert otlp.response_media_type(otlp.MEDIA_JSON) == "application/json"
    assert otlp.response_media_type("text/plain") == "application/json"
    assert otlp.response_media_type(None) == "application/json"


def _decode_status(body: bytes, media_type: str) -> status_pb2.Status:
    if media_type == otlp.MEDIA_PROTOBUF:
        return status_pb2.Status.FromString(body)
    return json_format.Parse(body, status_pb2.Status())
