"""/ingest on the real database queue: a 202 means a committed row a worker can pull."""

import json
from unittest import mock

import pytest
from django.db import OperationalError

from core.envelope import SOURCE_JSON, SOURCE_TEXT
from processing.models import QueueMessage
from processing.queues import database, get_queue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("open_mode")]


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.QUEUE_BACKEND = "database"


def post(client, body, content_type="application/json", **headers):
    return client.post("/ingest", data=body, content_type=content_type, headers=headers)


def test_an_accepted_json_log_is_a_queued_message_a_worker_can_pull(client):
    response = post(client, json.dumps({"tenant_id": "acme", "log_id": "123", "text": "call 555-0199"}))

    assert response.status_code == 202
    [message] = get_queue().pull(10, lease_seconds=30)
    assert message.message_id == response.json()["message_id"]
    envelope = message.envelope
    assert (envelope.tenant_id, envelope.log_id, envelope.text) == ("acme", "123", "call 555-0199")
    assert envelope.source == SOURCE_JSON
    assert envelope.request_id == response["X-Request-ID"]


def test_an_accepted_text_log_is_queued_as_a_text_upload(client):
    response = post(client, "Alert: 555-1234", "text/plain", **{"X-Tenant-ID": "beta_inc"})

    [message] = get_queue().pull(10, lease_seconds=30)
    assert message.envelope.source == SOURCE_TEXT
    assert message.envelope.log_id == response.json()["log_id"]


def test_a_batch_becomes_one_message_per_line_with_the_returned_ids(client):
    lines = [json.dumps({"tenant_id": "acme", "log_id": str(n), "text": f"log {n}"}) for n in range(5)]

    response = post(client, "\n".join(lines), "application/x-ndjson")

    assert response.status_code == 202
    returned = {item["message_id"] for item in response.json()["items"]}
    pulled = get_queue().pull(10, lease_seconds=30)
    assert {message.message_id for message in pulled} == returned
    assert sorted(message.envelope.log_id for message in pulled) == ["0", "1", "2", "3", "4"]


def test_a_batch_with_one_bad_line_queues_only_the_good_ones(client):
    lines = [
        json.dumps({"tenant_id": "acme", "log_id": "1", "text": "ok"}),
        '{"tenant_id": "acme"}',
        json.dumps({"tenant_id": "acme", "log_id": "3", "text": "ok too"}),
    ]

    response = post(client, "\n".join(lines), "application/x-ndjson")

    assert response.status_code == 202
    assert response.json()["rejected"] == 1
    assert sorted(message.envelope.log_id for message in get_queue().pull(10, lease_seconds=30)) == ["1", "3"]


def test_a_batch_with_no_good_line_leaves_the_queue_empty(client):
    response = post(client, '{"tenant_id": "acme"}\n{oops', "application/x-ndjson")

    assert response.status_code == 400
    assert QueueMessage.objects.count() == 0


def test_a_database_failure_while_publishing_is_503_and_nothing_queued(client):
    body = json.dumps({"tenant_id": "acme", "log_id": "1", "text": "x"})
    post(client, body.replace('"1"', '"warm-up"'))  # registers the tenant first
    QueueMessage.objects.all().delete()

    failure = OperationalError("disk I/O error")
    with (
        mock.patch.object(QueueMessage.objects, "create", side_effect=failure),
        mock.patch.object(database, "insert_new_rows", side_effect=failure),
    ):
        response = post(client, body)

    assert response.status_code == 503
    assert response["Retry-After"]
    assert QueueMessage.objects.count() == 0
