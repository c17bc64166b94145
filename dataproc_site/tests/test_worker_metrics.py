import io
import json
import time

import pytest
from django.core.management import call_command
from django.test import override_settings

from core.envelope import SOURCE_JSON, LogEnvelope
from dataproc_site.tests.samples import sample
from processing import pipeline
from processing.queues import get_queue
from processing.worker import ACK, DEAD_LETTER, RETRY, decide, process_message
from tenants.models import Tenant
from tenants.stores import StoreUnavailable, get_store
from tenants.stores.database import DatabaseLogStore

pytestmark = pytest.mark.django_db


def envelope(log_id: str = "123", text: str = "User 555-0199 accessed the system") -> LogEnvelope:
    return LogEnvelope(tenant_id="acme", log_id=log_id, source=SOURCE_JSON, text=text)


def outcomes(outcome: str) -> float:
    return sample("dataproc_worker_logs_total", tenant="acme", outcome=outcome)


@pytest.fixture(autouse=True)
def acme(db):
    return Tenant.objects.create(id="acme")


@pytest.fixture
def failing_pipeline(monkeypatch):
    def fail(envelope, *, attempt=1):
        raise RuntimeError("redaction service exploded")

    monkeypatch.setattr(pipeline, "handle", fail)


def test_a_processed_log_moves_the_outcome_timing_age_and_store_metrics():
    before = {
        "processed": outcomes("processed"),
        "processing": sample("dataproc_worker_processing_duration_seconds_count", result="success"),
        "age": sample("dataproc_worker_end_to_end_seconds_count"),
        "writes": sample("dataproc_store_write_duration_seconds_count", operation="save_result"),
    }

    outcome = decide(envelope(), message_id="m-1", delivery_attempt=1)

    assert outcome.action == ACK
    assert outcomes("processed") == before["processed"] + 1
    assert (
        sample("dataproc_worker_processing_duration_seconds_count", result="success")
        == before["processing"] + 1
    )
    assert sample("dataproc_worker_end_to_end_seconds_count") == before["age"] + 1
    assert (
        sample("dataproc_store_write_duration_seconds_count", operation="save_result") == before["writes"] + 1
    )


def test_a_redelivered_processed_log_counts_as_a_duplicate_not_as_processed():
    decide(envelope(), message_id="m-1", delivery_attempt=1)
    before_processed, before_duplicate = outcomes("processed"), outcomes("duplicate")

    decide(envelope(), message_id="m-1", delivery_attempt=2)

    assert outcomes("processed") == before_processed
    assert outcomes("duplicate") == before_duplicate + 1


@override_settings(WORKER_MAX_ATTEMPTS=2)
def test_failures_count_as_retried_then_dead_lettered(failing_pipeline):
    before_retried, before_dead = outcomes("retried"), outcomes("dead_lettered")
    before_errors = sample("dataproc_worker_processing_duration_seconds_count", result="error")

    first = decide(envelope(), message_id="m-1", delivery_attempt=1)
    second = decide(envelope(), message_id="m-1", delivery_attempt=2)

    assert (first.action, second.action) == (RETRY, DEAD_LETTER)
    assert outcomes("retried") == before_retried + 1
    assert outcomes("dead_lettered") == before_dead + 1
    assert sample("dataproc_worker_processing_duration_seconds_count", result="error") == before_errors + 2


class SaveFailsStore(DatabaseLogStore):
    def save_result(self, *args, **kwargs):
        raise StoreUnavailable("store down")


def test_a_store_write_that_fails_is_counted_and_the_log_retried():
    before_failures = sample("dataproc_store_write_failures_total", operation="save_result")
    before_retried = outcomes("retried")

    outcome = decide(envelope(), message_id="m-1", delivery_attempt=1, store=SaveFailsStore())

    assert outcome.action == RETRY
    assert sample("dataproc_store_write_failures_total", operation="save_result") == before_failures + 1
    assert outcomes("retried") == before_retried + 1


def test_a_message_is_in_flight_only_while_it_is_processed(monkeypatch):
    seen = []
    real_handle = pipeline.handle

    def observing_handle(envelope, *, attempt=1):
        seen.append(sample("dataproc_worker_in_flight"))
        return real_handle(envelope, attempt=attempt)

    monkeypatch.setattr(pipeline, "handle", observing_handle)
    before = sample("dataproc_worker_in_flight")

    decide(envelope(), message_id="m-1", delivery_attempt=1)

    assert seen == [before + 1]
    assert sample("dataproc_worker_in_flight") == before


def test_the_end_to_end_age_runs_from_received_to_processed():
    received = LogEnvelope(
        tenant_id="acme", log_id="old", source=SOURCE_JSON, text="hi", received_at="2020-01-01T00:00:00+00:00"
    )
    before = sample("dataproc_worker_end_to_end_seconds_bucket", le="+Inf") - sample(
        "dataproc_worker_end_to_end_seconds_bucket", le=str(4 * 3600.0)
    )

    decide(received, message_id="m-old", delivery_attempt=1)

    after = sample("dataproc_worker_end_to_end_seconds_bucket", le="+Inf") - sample(
        "dataproc_worker_end_to_end_seconds_bucket", le=str(4 * 3600.0)
    )
    assert after == before + 1  # years old: only in the +Inf bucket


@override_settings(QUEUE_BACKEND="database")
def test_a_message_whose_lease_ran_out_counts_as_a_lease_expiry():
    queue = get_queue()
    queue.publish(envelope())
    before = sample("dataproc_worker_lease_expiries_total")

    assert len(queue.pull(1, lease_seconds=0.01)) == 1
    time.sleep(0.05)  # the lease runs out without an ack
    redelivered = queue.pull(1, lease_seconds=30)

    assert len(redelivered) == 1
    assert sample("dataproc_worker_lease_expiries_total") == before + 1
    queue.ack(redelivered[0])
    assert sample("dataproc_worker_lease_expiries_total") == before + 1


@override_settings(QUEUE_BACKEND="memory")
def test_run_worker_serves_metrics_on_loopback_when_asked():
    output = io.StringIO()

    call_command("run_worker", "--drain", "--drain-idle-seconds", "0.1", "--metrics-port", "0", stdout=output)

    started = json.loads(output.getvalue().splitlines()[0])
    assert started["event"] == "worker started"
    assert started["metrics_url"].startswith("http://127.0.0.1:")


@override_settings(QUEUE_BACKEND="database", INGEST_AUTH="open")
def test_one_request_id_finds_the_api_line_the_worker_line_and_the_stored_record(client, log_lines, settings):
    settings.GOOGLE_CLOUD_PROJECT = "demo-project"
    response = client.post(
        "/ingest",
        data=json.dumps({"tenant_id": "acme", "log_id": "123", "text": "User 555-0199 accessed the system"}),
        content_type="application/json",
        headers={"Authorization": "Bearer not-a-real-key-but-secret", "X-Request-ID": "req-e2e-1"},
    )
    assert response.status_code == 202
    (message,) = get_queue().pull(1, lease_seconds=30)

    process_message(get_queue(), message)

    lines = log_lines()
    api_line = next(line for line in lines if line["logger"] == "dataproc.request")
    worker_line = next(line for line in lines if line["message"] == "log processed")
    assert api_line["request_id"] == worker_line["request_id"] == "req-e2e-1"
    assert api_line["logging.googleapis.com/trace"] == worker_line["logging.googleapis.com/trace"]
    assert api_line["logging.googleapis.com/trace"].startswith("projects/demo-project/traces/")
    assert api_line["logging.googleapis.com/spanId"] != worker_line["logging.googleapis.com/spanId"]
    assert worker_line["severity"] == "INFO"
    assert worker_line["log_id"] == "123"
    assert get_store().get("acme", "123").request_id == "req-e2e-1"
    everything = json.dumps(lines)
    assert "555-0199" not in everything
    assert "accessed the system" not in everything
    assert "not-a-real-key-but-secret" not in everything
    assert "Authorization" not in everything


@override_settings(WORKER_MAX_ATTEMPTS=1)
def test_a_dead_lettered_log_is_logged_as_an_error_with_its_request_id(failing_pipeline, log_lines):
    queue = get_queue()
    queue.publish(
        LogEnvelope(
            tenant_id="acme", log_id="9", source=SOURCE_JSON, text="call 555-0199", request_id="req-dead-1"
        )
    )
    (message,) = queue.pull(1, lease_seconds=30)
    before = outcomes("dead_lettered")

    process_message(queue, message)

    (line,) = [line for line in log_lines() if line["message"] == "log dead-lettered"]
    assert line["severity"] == "ERROR"
    assert line["request_id"] == "req-dead-1"
    assert line["error_type"] == "RuntimeError"
    assert "555-0199" not in json.dumps(log_lines())
    assert outcomes("dead_lettered") == before + 1
