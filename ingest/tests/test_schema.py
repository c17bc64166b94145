"""The OpenAPI schema: valid, warning-free, and served with a self-contained docs page."""

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator


def generate():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("mode", ["open", "api_key"])
def test_the_schema_validates_without_warnings(settings, tmp_path, mode):
    settings.INGEST_AUTH = mode

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi:")


def test_every_api_operation_is_documented_with_its_error_responses():
    paths = generate()["paths"]

    ingest = paths["/ingest"]["post"]
    assert set(ingest["requestBody"]["content"]) == {"application/json", "text/plain", "application/x-ndjson"}
    assert set(ingest["responses"]) == {"202", "400", "401", "403", "413", "415", "429", "503"}
    assert "Retry-After" in ingest["responses"]["429"]["headers"]
    assert "Retry-After" in ingest["responses"]["503"]["headers"]
    otlp = paths["/v1/logs"]["post"]
    assert set(otlp["requestBody"]["content"]) == {"application/x-protobuf", "application/json"}
    assert set(otlp["responses"]) == {"200", "400", "401", "403", "413", "415", "429", "503"}
    for answer in otlp["responses"].values():
        assert set(answer["content"]) == {"application/x-protobuf", "application/json"}
    assert "Retry-After" in otlp["responses"]["429"]["headers"]
    assert {"200", "404"} <= set(paths["/logs/{log_id}"]["get"]["responses"])
    assert "200" in paths["/logs"]["get"]["responses"]
    assert set(paths["/ready"]["get"]["responses"]) == {"200", "503"}
    assert set(paths["/health"]["get"]["responses"]) == {"200"}


def test_open_mode_lets_operations_go_without_a_key(settings):
    settings.INGEST_AUTH = "open"
    assert {} in generate()["paths"]["/ingest"]["post"]["security"]

    settings.INGEST_AUTH = "api_key"
    assert {} not in generate()["paths"]["/ingest"]["post"]["security"]


def test_the_schema_is_served(client):
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})

    assert response.status_code == 200
    assert "/ingest" in response.json()["paths"]


def test_the_docs_page_loads_its_assets_locally_not_from_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/" in page
