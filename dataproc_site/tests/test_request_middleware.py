import pytest
from django.test import override_settings

from dataproc_site.logging import TRACE_KEY
from dataproc_site.tests.samples import sample
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


def requests_total(**labels) -> float:
    return sample("dataproc_http_requests_total", **labels)


def test_every_response_carries_a_request_id(client):
    response = client.get("/no-such-page")

    assert len(response["X-Request-ID"]) == 32


def test_a_well_formed_client_request_id_is_kept(client):
    response = client.get("/no-such-page", headers={"X-Request-ID": "client-req-7"})

    assert response["X-Request-ID"] == "client-req-7"


def test_unknown_paths_are_counted_under_one_route(client):
    labels = {"method": "GET", "route": "unmatched", "status": "404", "tenant": "other"}
    before = requests_total(**labels)

    client.get("/no-such-page-1")
    client.get("/no-such-page-2")

    assert requests_total(**labels) == before + 2


@override_settings(METRICS_TOKEN=TOKEN)
def test_requests_are_counted_by_route_status_and_known_tenant(client):
    Tenant.objects.create(id="acme")
    known = {"method": "GET", "route": "metrics", "status": "200", "tenant": "acme"}
    unknown = {"method": "GET", "route": "metrics", "status": "401", "tenant": "other"}
    before_known, before_unknown = requests_total(**known), requests_total(**unknown)
    durations = {"method": "GET", "route": "metrics"}
    duration_before = sample("dataproc_http_request_duration_seconds_count", **durations)

    client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", "X-Tenant-ID": "acme"})
    client.get("/metrics", headers={"X-Tenant-ID": "made-up-tenant"})

    assert requests_total(**known) == before_known + 1
    assert requests_total(**unknown) == before_unknown + 1
    assert requests_total(method="GET", route="metrics", status="401", tenant="made-up-tenant") == 0.0
    assert sample("dataproc_http_request_duration_seconds_count", **durations) == duration_before + 2


def test_request_body_sizes_are_observed(client):
    labels = {"method": "POST", "route": "unmatched"}
    count_before = sample("dataproc_http_request_body_bytes_count", **labels)
    sum_before = sample("dataproc_http_request_body_bytes_sum", **labels)

    client.post("/no-such-page", data="x" * 300, content_type="text/plain")

    assert sample("dataproc_http_request_body_bytes_count", **labels) == count_before + 1
    assert sample("dataproc_http_request_body_bytes_sum", **labels) == sum_before + 300


def test_each_request_writes_one_json_line_in_the_cloud_logging_shape(client, log_lines, settings):
    settings.GOOGLE_CLOUD_PROJECT = "demo-project"
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    response = client.post(
        "/no-such-page",
        data="User 555-0199 accessed the system",
        content_type="text/plain",
        headers={
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            "Authorization": "Bearer tenant-secret-key",
            "X-Tenant-ID": "acme",
            "User-Agent": "curl/8.0",
        },
    )

    lines = [line for line in log_lines() if line["logger"] == "dataproc.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["severity"] == "INFO"
    assert line["request_id"] == response["X-Request-ID"]
    assert line[TRACE_KEY] == f"projects/demo-project/traces/{trace_id}"
    assert line["logging.googleapis.com/trace_sampled"] is True
    assert line["tenant_id"] == "acme"
    assert line["route"] == "unmatched"
    http = line["httpRequest"]
    assert http["requestMethod"] == "POST"
    assert http["requestUrl"] == "/no-such-page"
    assert http["status"] == 404
    assert http["requestSize"] == str(len("User 555-0199 accessed the system"))
    assert http["userAgent"] == "curl/8.0"
    assert http["remoteIp"] == "127.0.0.1"
    assert http["latency"].endswith("s")
    everything = "\n".join(map(str, log_lines()))
    assert "555-0199" not in everything
    assert "tenant-secret-key" not in everything


def test_a_request_without_trace_headers_gets_a_trace_its_view_can_read(client):
    """The view copies X-Request-ID and traceparent into the envelope: they must be the logged ones."""
    from django.http import HttpResponse
    from django.urls import path

    seen = {}

    def view(request):
        seen["request_id"] = request.META["HTTP_X_REQUEST_ID"]
        seen["traceparent"] = request.headers["traceparent"]
        return HttpResponse("ok")

    urlpatterns = [path("probe", view)]
    with override_settings(ROOT_URLCONF=type("Urls", (), {"urlpatterns": urlpatterns})):
        response = client.get("/probe")

    assert seen["request_id"] == response["X-Request-ID"]
    assert seen["traceparent"].startswith("00-") and len(seen["traceparent"]) == 55


def test_probes_and_scrapes_are_logged_at_debug_only(client, log_lines):
    with override_settings(METRICS_TOKEN=TOKEN):
        client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    (line,) = [line for line in log_lines() if line["logger"] == "dataproc.request"]
    assert line["severity"] == "DEBUG"
