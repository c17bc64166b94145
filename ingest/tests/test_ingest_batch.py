"""POST /ingest batches (a JSON array, NDJSON): the valid records are queued, the others listed and never queued."""

import json
import uuid

import pytest

from core.envelope import SOURCE_JSON
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]

NDJSON = "application/x-ndjson"
JSON = "application/json"


def log(tenant_id="acme", log_id="1", text="call 555-0199", **extra):
    return {"tenant_id": tenant_id, "log_id": log_id, "text": text, **extra}


def line(**fields):
    return json.dumps(log(**fields))


def post_batch(client, lines, **headers):
    body = lines if isinstance(lines, str | bytes) else "\n".join(lines) + "\n"
    return client.post("/ingest", data=body, content_type=NDJSON, headers=headers)


def post_array(client, records, **headers):
    return client.post("/ingest", data=json.dumps(records), content_type=JSON, headers=headers)


@pytest.mark.parametrize("send", [post_batch, post_array], ids=["ndjson", "json-array"])
def test_it_accepts_a_batch_and_lists_every_item_in_order(client, queue, send):
    records = [log(log_id="1"), log(log_id="2"), log(tenant_id="beta_inc", log_id="1")]
    payload = [json.dumps(record) for record in records] if send is post_batch else records

    response = send(client, payload)

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["accepted"], body["rejected"], body["errors"]) == ("accepted", 3, 0, [])
    assert [(item["tenant_id"], item["log_id"]) for item in body["items"]] == [
        ("acme", "1"),
        ("acme", "2"),
        ("beta_inc", "1"),
    ]
    assert [item["message_id"] for item in body["items"]] == [message_id for message_id, _ in queue.queued()]


def test_a_json_array_of_one_is_answered_as_a_batch(client, queue):
    response = post_array(client, [log()])

    assert response.status_code == 202
    assert response.json()["accepted"] == 1


def test_it_publishes_the_batch_in_one_call_with_shared_request_data(client, queue, monkeypatch):
    calls = []
    monkeypatch.setattr(queue, "publish", lambda envelope: calls.append("publish"))
    publish_many = queue.publish_many
    monkeypatch.setattr(
        queue, "publish_many", lambda envelopes: calls.append("publish_many") or publish_many(envelopes)
    )

    post_batch(client, [line(log_id="1"), line(log_id="2")], **{"X-Request-ID": "batch-9"})

    assert calls == ["publish_many"]
    assert [envelope.source for envelope in queue.queued_envelopes()] == [SOURCE_JSON, SOURCE_JSON]
    assert {envelope.request_id for envelope in queue.queued_envelopes()} == {"batch-9"}
    assert len({envelope.received_at for envelope in queue.queued_envelopes()}) == 1


def test_it_registers_every_new_tenant_of_the_batch(client, queue):
    post_batch(client, [line(tenant_id="t1"), line(tenant_id="t2")])

    assert set(Tenant.objects.values_list("id", flat=True)) == {"t1", "t2"}


def test_it_skips_blank_lines_and_a_missing_final_newline(client, queue):
    response = post_batch(client, line(log_id="1") + "\n\n   \r\n" + line(log_id="2"))

    assert response.status_code == 202
    assert response.json()["accepted"] == 2


@pytest.mark.parametrize(
    ("bad_line", "code", "expected"),
    [
        ("{not json", "invalid_json", "malformed JSON"),
        ("[1, 2]", "invalid_record", "expected a JSON object"),
        (
            json.dumps({"tenant_id": "acme", "log_id": 5, "text": "x"}),
            "invalid_log_id",
            "log_id must be a string",
        ),
        (line(text=""), "invalid_text", "text must not be empty"),
        (json.dumps({"tenant_id": "acme", "log_id": "3"}), "missing_text", "text is required"),
        (line(tenant_id="__x__"), "invalid_tenant_id", "tenant_id must not have the reserved form"),
    ],
)
def test_a_bad_line_is_rejected_alone_naming_its_line_and_the_others_are_queued(
    client, queue, bad_line, code, expected
):
    response = post_batch(client, [line(log_id="1"), line(log_id="2"), bad_line])

    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    [error] = body["errors"]
    assert (error["index"], error["error"]) == (2, code)
    assert error["detail"].startswith("line 3: ")
    assert expected in error["detail"]
    assert [envelope.log_id for envelope in queue.queued_envelopes()] == ["1", "2"]


def test_indexes_count_records_and_details_count_the_clients_lines(client, queue):
    response = post_batch(client, line(log_id="1") + "\n\n{oops\n")

    [error] = response.json()["errors"]
    assert error["index"] == 1
    assert error["detail"].startswith("line 3: ")


def test_an_item_of_a_json_array_that_is_not_a_log_is_rejected_by_index(client, queue):
    response = post_array(client, [log(log_id="1"), "just text", log(log_id="3", text=7)])

    body = response.json()
    assert response.status_code == 202
    assert [(error["index"], error["error"]) for error in body["errors"]] == [
        (1, "invalid_record"),
        (2, "invalid_text"),
    ]
    assert [envelope.log_id for envelope in queue.queued_envelopes()] == ["1"]


def test_a_repeated_log_id_is_rejected_and_the_first_is_queued(client, queue):
    response = post_batch(client, [line(log_id="1", text="first"), line(log_id="2"), line(log_id="1")])

    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"] == [
        {"index": 2, "error": "duplicate_log_id", "detail": "log_id '1' of tenant 'acme' repeats record 0."}
    ]
    assert [envelope.text for envelope in queue.queued_envelopes() if envelope.log_id == "1"] == ["first"]


def test_a_record_repeats_another_whether_it_names_the_default_tenant_or_not(client, queue):
    records = [{"log_id": "1", "text": "a"}, {"tenant_id": "acme", "log_id": "1", "text": "b"}, {"text": "c"}]

    response = post_array(client, records, **{"X-Tenant-ID": "acme"})

    assert [(error["index"], error["error"]) for error in response.json()["errors"]] == [
        (1, "duplicate_log_id")
    ]
    assert [envelope.text for envelope in queue.queued_envelopes()] == ["a", "c"]


def test_a_batch_without_a_valid_record_is_400_with_every_error_and_nothing_queued(client, queue):
    response = post_batch(client, ["{oops", line(text=""), "[]"])

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "None of the 3 records was accepted" in body["detail"]
    assert [(error["index"], error["error"]) for error in body["errors"]] == [
        (0, "invalid_json"),
        (1, "invalid_text"),
        (2, "invalid_record"),
    ]
    assert queue.queued_envelopes() == []


def test_it_refuses_an_empty_batch(client, queue):
    assert post_batch(client, "\n\n").status_code == 400
    assert post_array(client, []).status_code == 400
    assert queue.queued_envelopes() == []


def test_it_refuses_more_records_than_the_batch_limit_whole(client, queue, settings):
    settings.INGEST_MAX_BATCH_LINES = 3

    ndjson = post_batch(client, [line(log_id=str(number)) for number in range(4)])
    array = post_array(client, [log(log_id=str(number)) for number in range(4)])

    for response in (ndjson, array):
        assert response.status_code == 413
        assert response.json()["error"] == "payload_too_large"
        assert "the limit is 3 logs per request" in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_it_accepts_exactly_the_batch_limit(client, queue, settings):
    settings.INGEST_MAX_BATCH_LINES = 3

    response = post_batch(client, [line(log_id=str(number)) for number in range(3)])

    assert response.status_code == 202
    assert len(queue.queued_envelopes()) == 3


def test_a_line_of_invalid_utf8_is_rejected_alone(client, queue):
    body = (line(log_id="1") + "\n").encode() + b'{"tenant_id": "acme", "log_id": "2", "text": "\xff"}\n'

    response = post_batch(client, body)

    assert response.status_code == 202
    [error] = response.json()["errors"]
    assert (error["index"], error["error"]) == (1, "invalid_json")
    assert error["detail"].startswith("line 2: not valid UTF-8")
    assert [envelope.log_id for envelope in queue.queued_envelopes()] == ["1"]


def test_an_oversize_text_in_a_batch_is_rejected_alone(client, queue, settings):
    settings.INGEST_MAX_TEXT_CHARS = 10

    response = post_batch(client, [line(log_id="1", text="short"), line(log_id="2", text="x" * 11)])

    assert response.status_code == 202
    assert response.json()["errors"] == [
        {"index": 1, "error": "text_too_long", "detail": "line 2: text is 11 characters; the limit is 10."}
    ]
    assert [envelope.log_id for envelope in queue.queued_envelopes()] == ["1"]


def test_records_of_an_inactive_tenant_are_rejected_and_the_others_queued(client, queue):
    Tenant.objects.create(id="frozen", active=False)

    response = post_batch(client, [line(log_id="1"), line(tenant_id="frozen", log_id="2")])

    assert response.status_code == 202
    assert response.json()["errors"] == [
        {"index": 1, "error": "forbidden_tenant", "detail": "tenant 'frozen' is inactive."}
    ]
    assert [envelope.tenant_id for envelope in queue.queued_envelopes()] == ["acme"]


def test_a_batch_only_of_an_inactive_tenant_is_403(client, queue):
    Tenant.objects.create(id="frozen", active=False)

    response = post_batch(
        client, [line(tenant_id="frozen", log_id="1"), line(tenant_id="frozen", log_id="2")]
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert len(response.json()["errors"]) == 2
    assert queue.queued_envelopes() == []


# -- shippers' records -------------------------------------------------------------------


def test_records_without_tenant_or_log_id_take_the_header_and_get_generated_ids(client, queue):
    records = [{"message": "first"}, {"log": "second"}]

    response = post_array(client, records, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 202
    items = response.json()["items"]
    assert [item["tenant_id"] for item in items] == ["acme", "acme"]
    assert all(uuid.UUID(item["log_id"]).version == 4 for item in items)
    assert [envelope.log_id for envelope in queue.queued_envelopes()] == [item["log_id"] for item in items]


def test_a_record_naming_another_tenant_than_x_tenant_id_is_rejected(client, queue):
    response = post_batch(
        client, [line(log_id="1"), line(tenant_id="beta_inc", log_id="2")], **{"X-Tenant-ID": "acme"}
    )

    assert response.status_code == 202
    [error] = response.json()["errors"]
    assert error == {
        "index": 1,
        "error": "forbidden_tenant",
        "detail": "X-Tenant-ID names tenant 'acme', not 'beta_inc'.",
    }
    assert [envelope.tenant_id for envelope in queue.queued_envelopes()] == ["acme"]


def test_a_record_with_no_tenant_anywhere_is_rejected(client, queue):
    response = post_batch(client, [line(log_id="1"), json.dumps({"message": "whose?"})])

    [error] = response.json()["errors"]
    assert (error["index"], error["error"]) == (1, "missing_tenant_id")
    assert "X-Tenant-ID" in error["detail"]


def test_vectors_fields_become_text_event_time_and_attributes(client, queue):
    record = {
        "message": "User 555-0199 logged in",
        "timestamp": "2026-11-30T10:00:00.123Z",
        "host": "web-1",
        "source_type": "file",
        "level": "warn",
    }

    post_array(client, [record], **{"X-Tenant-ID": "acme"})

    [envelope] = queue.queued_envelopes()
    assert envelope.text == "User 555-0199 logged in"
    assert envelope.event_time == "2026-11-30T10:00:00.123000+00:00"
    assert envelope.severity == "warn"
    assert envelope.attributes == {"host": "web-1", "source_type": "file"}


def test_fluent_bits_fields_become_text_event_time_and_attributes(client, queue):
    record = {"date": 1764496800.5, "log": "disk full", "stream": "stderr", "kubernetes": {"pod": "api-1"}}

    post_batch(client, json.dumps(record), **{"X-Tenant-ID": "acme"})

    [envelope] = queue.queued_envelopes()
    assert (envelope.text, envelope.event_time) == ("disk full", "2025-11-30T10:00:00.500000+00:00")
    assert envelope.attributes == {"stream": "stderr", "kubernetes": '{"pod":"api-1"}'}
