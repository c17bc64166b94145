import pytest
from django.test import override_settings

from processing.queues import reset_queue
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_refuses_a_scrape_without_the_token(client):
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"dataproc_" not in response.content


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_refuses_a_scrape_with_a_wrong_token(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})

    assert response.status_code == 403
    assert b"dataproc_" not in response.content


@override_settings(METRICS_TOKEN=TOKEN, METRICS_ALLOWED_NETWORKS=["127.0.0.0/8"])
def test_a_token_is_required_even_from_an_allowed_network(client):
    assert client.get("/metrics").status_code == 401


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_serves_prometheus_text_with_the_token(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE dataproc_http_requests_total counter" in response.content


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=[])
def test_without_a_token_or_networks_nobody_may_scrape_not_even_loopback(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_production_settings_refuse_scrapes_by_default(client, settings):
    """The suite runs with DEBUG off and no METRICS_* variables: production defaults."""
    assert settings.METRICS_TOKEN == ""
    assert settings.METRICS_ALLOWED_NETWORKS == []
    assert client.get("/metrics").status_code == 403


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=["10.0.0.0/8", "::1/128"])
def test_without_a_token_only_the_allowed_networks_may_scrape(client):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5").status_code == 403


@override_settings(METRICS_TOKEN="", METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_a_forwarded_for_header_does_not_open_the_allowed_networks(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5", headers={"X-Forwarded-For": "10.1.2.3"})

    assert response.status_code == 403


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_only_answers_get(client):
    response = client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 405


def scrape(client) -> str:
    with override_settings(METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.content.decode()


@override_settings(QUEUE_BACKEND="tests.doubles.BusyQueue")
def test_queue_depth_and_oldest_age_are_read_at_scrape_time(client):
    reset_queue()
    text = scrape(client)

    assert 'dataproc_queue_depth{backend="tests.doubles.BusyQueue"} 42.0' in text
    assert 'dataproc_queue_oldest_message_age_seconds{backend="tests.doubles.BusyQueue"} 12.5' in text
    assert 'dataproc_queue_dead_lettered{backend="tests.doubles.BusyQueue"} 3.0' in text
    assert "dataproc_queue_stats_up 1.0" in text


@override_settings(QUEUE_BACKEND="tests.doubles.BusyQueue")
def test_queue_depth_per_tenant_is_exported_with_bounded_tenant_labels(client):
    Tenant.objects.bulk_create([Tenant(id="acme"), Tenant(id="beta_inc")])
    reset_queue()
    text = scrape(client)

    assert 'dataproc_queue_tenant_depth{backend="tests.doubles.BusyQueue",tenant="acme"} 30.0' in text
    assert 'dataproc_queue_tenant_depth{backend="tests.doubles.BusyQueue",tenant="beta_inc"} 10.0' in text
    # Tenant ids nobody registered never become labels of their own.
    assert 'dataproc_queue_tenant_depth{backend="tests.doubles.BusyQueue",tenant="other"} 2.0' in text
    assert "made-up" not in text


@override_settings(INGEST_MAX_QUEUED_LOGS=100000, INGEST_MAX_QUEUED_LOGS_PER_TENANT=0)
def test_the_queue_depth_caps_are_exported_beside_the_depths_they_limit(client):
    text = scrape(client)

    assert 'dataproc_ingest_queue_limit{scope="total"} 100000.0' in text
    assert 'scope="tenant"' not in text


def test_without_caps_no_limit_is_exported(client):
    assert "dataproc_ingest_queue_limit" not in scrape(client)


@override_settings(QUEUE_BACKEND="tests.doubles.SilentQueue")
def test_a_backend_that_cannot_tell_its_backlog_exports_no_queue_gauges(client):
    reset_queue()
    text = scrape(client)

    assert "dataproc_queue_stats_up 1.0" in text
    assert "dataproc_queue_depth" not in text
    assert "dataproc_queue_oldest_message_age_seconds" not in text


@override_settings(QUEUE_BACKEND="tests.doubles.BrokenQueue")
def test_an_unavailable_queue_still_lets_the_scrape_succeed(client):
    reset_queue()
    text = scrape(client)

    assert "dataproc_queue_stats_up 0.0" in text
    assert "dataproc_queue_depth" not in text
