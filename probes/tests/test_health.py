"""GET /health (the process answers) and GET /ready (the queue and the store answer)."""

import pytest


@pytest.mark.django_db
def test_health_answers_ok_without_touching_any_backend(client, settings, django_assert_num_queries):
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    with django_assert_num_queries(0):
        response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_needs_no_key_in_api_key_mode(client, api_key_mode):
    assert client.get("/health").status_code == 200


def test_ready_is_200_when_queue_and_store_answer(client, queue, store):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"queue": "ok", "store": "ok"}}


def test_ready_is_503_naming_the_queue_when_it_is_down(client, store, settings):
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"

    response = client.get("/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_ready"
    assert body["detail"] == "queue unavailable"
    assert body["checks"] == {"queue": "unavailable", "store": "ok"}
    assert response["Retry-After"]


def test_ready_gives_anonymous_callers_a_code_and_logs_why(client, store, settings, caplog):
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"

    response = client.get("/ready")

    assert "broker down" not in response.content.decode()
    assert "QueueUnavailable" not in response.content.decode()
    [failure] = [record for record in caplog.records if record.getMessage() == "readiness check failed"]
    assert failure.component == "queue"
    assert failure.reason == "QueueUnavailable: broker down"


def test_ready_is_503_naming_the_store_when_it_is_down(client, queue, settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["detail"] == "store unavailable"


def test_ready_is_503_when_a_backend_cannot_even_be_built(client, settings):
    settings.QUEUE_BACKEND = "no.such.Backend"
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["detail"] == "queue and store unavailable"


@pytest.mark.django_db
def test_ready_checks_the_real_database_backends(client, settings):
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"

    assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_probes_allow_only_get(client, method):
    response = client.generic(method, "/health")

    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
