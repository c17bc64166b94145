"""POST /ingest with application/x-ndjson: a batch validated as a whole, then queued at once."""

import json

import pytest

from core.envelope import SOURCE_JSON
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]


def line(tenant_id="acme", log_id="1", text="call 555-0199", **extra):
    return json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": text, **extra})


def post_batch(client, lines, **headers):
    body = lines if isinstance(lines, str | bytes) else "\n".join(lines) + "\n"
    return client.post("/ingest", data=body, content_type="application/x-ndjson", headers=headers)


def test_it_accepts_a_batch_and_lists_every_item_in_order(client, queue):
    lines = [line(log_id="1"), line(log_id="2"), line(tenant_id="beta_inc", log_id="1")]

    response = post_batch(client, lines)

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["accepted"]) == ("accepted", 3)
    assert [(item["tenant_id"], item["log_id"]) for item in body["items"]] == [
        ("acme", "1"),
        ("acme", "2"),
        ("beta_inc", "1"),
    ]
    assert [item["message_id"] for item in body["items"]] == [message_id for message_id, _ in queue.queued()]


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
    response = post_batch(client, line(log_id="1") + "\n\n   \n" + line(log_id="2"))

    assert response.status_code == 202
    assert response.json()["accepted"] == 2


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({"tenant_id": "acme", "text": "x"}), "log_id is required"),
        (json.dumps({"tenant_id": "acme", "log_id": 5, "text": "x"}), "log_id must be a string"),
        (line(text=""), "text must not be empty"),
        (line(tenant_id="__x__"), "tenant_id must not have the reserved form"),
    ],
)
def test_a_bad_line_rejects_the_whole_batch_naming_its_line(client, queue, bad_line, expected):
    response = post_batch(client, [line(log_id="1"), line(log_id="2"), bad_line])

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("line 3: ")
    assert expected in detail
    assert queue.queued_envelopes() == []


def test_line_numbers_count_blank_lines_like_the_clients_file(client, queue):
    response = post_batch(client, line(log_id="1") + "\n\n{oops\n")

    assert response.json()["detail"].startswith("line 3: ")


def test_a_repeated_log_id_rejects_the_batch(client, queue):
    response = post_batch(client, [line(log_id="1"), line(log_id="2"), line(log_id="1")])

    assert response.status_code == 400
    assert response.json()["detail"] == "line 3: tenant_id 'acme' and log_id '1' repeat line 1."
    assert queue.queued_envelopes() == []


def test_it_refuses_an_empty_batch(client, queue):
    response = post_batch(client, "\n\n")

    assert response.status_code == 400
    assert queue.queued_envelopes() == []


def test_it_refuses_more_lines_than_the_batch_limit(client, queue, settings):
    settings.INGEST_MAX_BATCH_LINES = 3

    response = post_batch(client, [line(log_id=str(number)) for number in range(4)])

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert queue.queued_envelopes() == []


def test_it_accepts_exactly_the_batch_limit(client, queue, settings):
    settings.INGEST_MAX_BATCH_LINES = 3

    response = post_batch(client, [line(log_id=str(number)) for number in range(3)])

    assert response.status_code == 202
    assert len(queue.queued_envelopes()) == 3


def test_it_names_the_line_of_invalid_utf8(client, queue):
    body = (line(log_id="1") + "\n").encode() + b'{"tenant_id": "acme", "log_id": "2", "text": "\xff"}\n'

    response = post_batch(client, body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("line 2: not valid UTF-8")
    assert queue.queued_envelopes() == []


def test_an_inactive_tenant_on_any_line_rejects_the_batch(client, queue):
    Tenant.objects.create(id="frozen", active=False)

    response = post_batch(client, [line(log_id="1"), line(tenant_id="frozen", log_id="2")])

    assert response.status_code == 403
    assert response.json()["detail"] == "line 2: tenant 'frozen' is inactive."
    assert queue.queued_envelopes() == []
