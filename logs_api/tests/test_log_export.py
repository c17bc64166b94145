"""GET /logs?format=ndjson: every matching log of the tenant, streamed as NDJSON, page by page."""

import json

import pytest

from core.records import STATUS_DEAD_LETTERED, STATUS_RETRYING
from ingest.tests.records import BASE_TIME, make_record
from logs_api import export
from tenants.stores.memory import MemoryLogStore

pytestmark = pytest.mark.django_db

NDJSON = "application/x-ndjson"


class CountingStore(MemoryLogStore):
    """Remembers every page the export asked for, and can fail from a given page on."""

    pages: list = []
    fail_from_page: int | None = None

    def list_logs(self, tenant_id, **kwargs):
        type(self).pages.append(kwargs)
        if self.fail_from_page is not None and len(self.pages) >= self.fail_from_page:
            self.unavailable = True
        return super().list_logs(tenant_id, **kwargs)


@pytest.fixture
def counting_store(settings):
    from tenants.stores import get_store

    CountingStore.pages = []
    CountingStore.fail_from_page = None
    settings.LOG_STORE_BACKEND = "logs_api.tests.test_log_export.CountingStore"
    return get_store()


def export_logs(client, tenant_id="acme", headers=None, **params):
    return client.get(
        "/logs", {"format": "ndjson", **params}, headers={"X-Tenant-ID": tenant_id, **(headers or {})}
    )


def lines(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


@pytest.mark.usefixtures("open_mode")
def test_it_streams_every_log_of_the_tenant_newest_first_unpaginated(client, store, settings):
    store.load([make_record(log_id=f"log-{minute:03d}", minutes=minute) for minute in range(250)])
    store.load([make_record(tenant_id="beta_inc", log_id="theirs")])

    response = export_logs(client)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == NDJSON
    assert response["X-Request-ID"]
    records = lines(response)
    assert [record["log_id"] for record in records] == [f"log-{minute:03d}" for minute in range(249, -1, -1)]


@pytest.mark.usefixtures("open_mode")
def test_each_line_has_the_read_apis_fields_and_never_the_original_text(client, store):
    store.load([make_record(attributes={"host": "web-1"}, severity="WARN")])

    (line,) = lines(export_logs(client))

    assert line == client.get("/logs/123", headers={"X-Tenant-ID": "acme"}).json()
    assert "original_text" not in line
    assert "555-0199" not in json.dumps(line)


@pytest.mark.usefixtures("open_mode")
def test_the_accept_header_asks_for_the_same_export(client, store):
    store.load([make_record(log_id="a"), make_record(log_id="b", minutes=1)])

    response = client.get("/logs", headers={"X-Tenant-ID": "acme", "Accept": NDJSON})

    assert response["Content-Type"] == NDJSON
    assert [line["log_id"] for line in lines(response)] == ["b", "a"]


@pytest.mark.usefixtures("open_mode")
@pytest.mark.parametrize(
    ("query", "accept"),
    [({}, "application/json"), ({}, "*/*"), ({}, ""), ({"format": "json"}, NDJSON), ({}, f"{NDJSON};q=0")],
)
def test_json_stays_the_default_and_format_json_wins(client, store, query, accept):
    store.load([make_record()])

    response = client.get("/logs", query, headers={"X-Tenant-ID": "acme", "Accept": accept})

    assert response["Content-Type"].startswith("application/json")
    assert [item["log_id"] for item in response.json()["items"]] == ["123"]


@pytest.mark.usefixtures("open_mode")
def test_since_until_and_status_choose_what_is_exported(client, store):
    store.load([make_record(log_id=f"day-{minute}", minutes=minute * 60 * 6) for minute in range(8)])
    store.load([make_record(log_id="dead", status=STATUS_DEAD_LETTERED, minutes=60 * 25)])
    store.load([make_record(log_id="retry", status=STATUS_RETRYING, minutes=60 * 26)])

    one_day = export_logs(client, since="2026-11-02", until="2026-11-03T00:00:00Z")
    dead = export_logs(client, status="dead_lettered")
    from_noon = export_logs(client, since="2026-11-02T12:00:00+00:00")

    # day-N was received N * 6 hours after 2026-11-01 12:00; dead and retry on 11-02 at 13:00, 14:00.
    expected_day = ["day-5", "retry", "dead", "day-4", "day-3", "day-2"]
    assert [line["log_id"] for line in lines(one_day)] == expected_day
    assert [line["log_id"] for line in lines(dead)] == ["dead"]
    expected_from_noon = ["day-7", "day-6", "day-5", "retry", "dead", "day-4"]
    assert [line["log_id"] for line in lines(from_noon)] == expected_from_noon


@pytest.mark.usefixtures("open_mode")
def test_an_empty_export_is_an_empty_body(client, store):
    response = export_logs(client)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b""


@pytest.mark.usefixtures("open_mode")
def test_the_store_is_read_a_page_at_a_time_while_the_body_is_sent(client, counting_store, monkeypatch):
    monkeypatch.setattr(export, "PAGE_SIZE", 10)
    monkeypatch.setattr(export, "LINES_PER_CHUNK", 10)
    counting_store.load([make_record(log_id=f"log-{n:03d}", minutes=n) for n in range(95)])

    response = export_logs(client)
    chunks = iter(response.streaming_content)
    first = next(chunks)

    assert first.count(b"\n") == 10
    assert len(CountingStore.pages) <= 2  # the first page, maybe the second: never the whole store
    rest = b"".join(chunks)
    assert (first + rest).count(b"\n") == 95
    assert len(CountingStore.pages) == 10
    assert {page["limit"] for page in CountingStore.pages} == {10}


@pytest.mark.usefixtures("open_mode")
def test_a_store_outage_before_the_first_line_is_503(client, settings):
    settings.LOG_STORE_BACKEND = "tests.doubles.UnavailableStore"

    response = export_logs(client)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response["Retry-After"]


@pytest.mark.usefixtures("open_mode")
def test_a_store_outage_mid_stream_aborts_the_body(client, counting_store, monkeypatch):
    monkeypatch.setattr(export, "PAGE_SIZE", 10)
    counting_store.load([make_record(log_id=f"log-{n:03d}", minutes=n) for n in range(30)])
    CountingStore.fail_from_page = 2

    response = export_logs(client)

    assert response.status_code == 200
    with pytest.raises(Exception, match="unavailable"):
        b"".join(response.streaming_content)


@pytest.mark.usefixtures("open_mode")
@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "abc"},
        {"limit": "10"},
        {"format": "xml"},
        {"since": "yesterday"},
        {"until": "2026-13-01"},
        {"since": "2026-11-02", "until": "2026-11-01"},
        {"status": "lost"},
    ],
)
def test_bad_export_parameters_are_400(client, store, params):
    response = client.get("/logs", {"format": "ndjson", **params}, headers={"X-Tenant-ID": "acme"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.usefixtures("api_key_mode")
def test_with_api_keys_the_export_is_the_keys_tenants(client, store, acme_key, beta):
    store.load([make_record(), make_record(tenant_id="beta_inc", log_id="theirs")])

    response = client.get("/logs?format=ndjson", headers={"Authorization": f"Bearer {acme_key}"})
    refused = client.get(
        "/logs?format=ndjson", headers={"Authorization": f"Bearer {acme_key}", "X-Tenant-ID": "beta_inc"}
    )
    anonymous = client.get("/logs?format=ndjson", headers={"X-Tenant-ID": "acme"})

    assert [line["log_id"] for line in lines(response)] == ["123"]
    assert (refused.status_code, anonymous.status_code) == (403, 401)


@pytest.mark.usefixtures("open_mode")
def test_the_json_listing_takes_since_and_until_too(client, store):
    store.load([make_record(log_id=f"log-{hour}", minutes=hour * 60) for hour in range(5)])

    body = client.get(
        "/logs",
        {"since": (BASE_TIME.replace(hour=13)).isoformat(), "until": "2026-11-01T16:00:00Z"},
        headers={"X-Tenant-ID": "acme"},
    ).json()

    assert [item["log_id"] for item in body["items"]] == ["log-3", "log-2", "log-1"]
