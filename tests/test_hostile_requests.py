"""Malformed and hostile requests: every one a 4xx with a JSON error, none a 5xx, nothing queued.

Runs against the real embedded queue (the ``QueueMessage`` table), so "nothing
queued" is read from where a worker would find the message.
"""

import json

import pytest
from django.test import Client

from processing.models import QueueMessage
from tenants.models import Tenant, TenantAPIKey

JSON = "application/json"
TEXT = "text/plain"
NDJSON = "application/x-ndjson"
GOOD = {"tenant_id": "acme", "log_id": "1", "text": "hello"}


def body(**overrides) -> bytes:
    return json.dumps({**GOOD, **overrides}).encode()


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def ndjson(*lines) -> bytes:
    return b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines)


# (case id, method, content type, body, extra headers, expected status)
CASES = [
    # malformed and non-object JSON
    ("truncated-json", "post", JSON, b'{"tenant_id": "acme", "log_id":', {}, 400),
    ("not-json-at-all", "post", JSON, b"tenant_id=acme&text=x", {}, 400),
    ("json-array", "post", JSON, b'[{"tenant_id": "acme"}]', {}, 400),
    ("json-string", "post", JSON, b'"hello"', {}, 400),
    ("json-number", "post", JSON, b"42", {}, 400),
    ("json-null", "post", JSON, b"null", {}, 400),
    ("empty-json-body", "post", JSON, b"", {}, 400),
    ("json-trailing-garbage", "post", JSON, body() + b"}}", {}, 400),
    ("deeply-nested-json", "post", JSON, nested(50_000), {}, 400),
    (
        "deeply-nested-field",
        "post",
        JSON,
        b'{"tenant_id":"acme","log_id":"1","text":' + nested(5000) + b"}",
        {},
        400,
    ),
    # wrong types
    ("tenant-id-number", "post", JSON, body(tenant_id=7), {}, 400),
    ("log-id-list", "post", JSON, body(log_id=["1"]), {}, 400),
    ("text-object", "post", JSON, body(text={"a": 1}), {}, 400),
    ("text-number", "post", JSON, body(text=12), {}, 400),
    ("text-null", "post", JSON, body(text=None), {}, 400),
    ("tenant-id-bool", "post", JSON, body(tenant_id=True), {}, 400),
    # missing and empty fields
    ("missing-tenant", "post", JSON, json.dumps({"log_id": "1", "text": "x"}).encode(), {}, 400),
    ("missing-log-id", "post", JSON, json.dumps({"tenant_id": "acme", "text": "x"}).encode(), {}, 400),
    ("missing-text", "post", JSON, json.dumps({"tenant_id": "acme", "log_id": "1"}).encode(), {}, 400),
    ("empty-object", "post", JSON, b"{}", {}, 400),
    ("empty-tenant", "post", JSON, body(tenant_id=""), {}, 400),
    ("empty-log-id", "post", JSON, body(log_id=""), {}, 400),
    ("empty-text", "post", JSON, body(text=""), {}, 400),
    # identifiers outside the allowed form
    ("tenant-with-slash", "post", JSON, body(tenant_id="acme/../beta_inc"), {}, 400),
    ("log-id-with-slash", "post", JSON, body(log_id="a/b"), {}, 400),
    ("tenant-dotdot", "post", JSON, body(tenant_id=".."), {}, 400),
    ("tenant-dot", "post", JSON, body(tenant_id="."), {}, 400),
    ("log-id-dotdot", "post", JSON, body(log_id=".."), {}, 400),
    ("tenant-reserved", "post", JSON, body(tenant_id="__x__"), {}, 400),
    ("log-id-reserved", "post", JSON, body(log_id="__name__"), {}, 400),
    ("tenant-control-char", "post", JSON, body(tenant_id="acme\n"), {}, 400),
    ("log-id-nul", "post", JSON, body(log_id="1\x00"), {}, 400),
    ("tenant-129-chars", "post", JSON, body(tenant_id="a" * 129), {}, 400),
    ("log-id-129-chars", "post", JSON, body(log_id="1" * 129), {}, 400),
    ("tenant-unicode", "post", JSON, body(tenant_id="acmé"), {}, 400),
    ("tenant-space", "post", JSON, body(tenant_id="ac me"), {}, 400),
    # plain text uploads
    ("text-without-tenant-header", "post", TEXT, b"hello", {}, 400),
    ("text-bad-tenant-header", "post", TEXT, b"hello", {"HTTP_X_TENANT_ID": "../beta"}, 400),
    (
        "text-bad-log-id-header",
        "post",
        TEXT,
        b"hello",
        {"HTTP_X_TENANT_ID": "acme", "HTTP_X_LOG_ID": "a/b"},
        400,
    ),
    ("text-empty-body", "post", TEXT, b"", {"HTTP_X_TENANT_ID": "acme"}, 400),
    ("text-not-utf8", "post", TEXT, b"\xff\xfe\xfa bad", {"HTTP_X_TENANT_ID": "acme"}, 400),
    ("json-not-utf8", "post", JSON, b'{"tenant_id":"acme","log_id":"1","text":"\xff"}', {}, 400),
    # content types
    ("form-encoded", "post", "application/x-www-form-urlencoded", b"tenant_id=acme", {}, 415),
    ("xml", "post", "application/xml", b"<log/>", {}, 415),
    ("multipart", "post", "multipart/form-data; boundary=x", b"--x--", {}, 415),
    ("missing-content-type", "post", "", body(), {}, 415),
    ("garbage-content-type", "post", "not a media type", body(), {}, 415),
    # size
    ("oversize-json", "post", JSON, body(text="x" * (1024 * 1024 + 1)), {}, 413),
    ("oversize-text", "post", TEXT, b"x" * (1024 * 1024 + 1), {"HTTP_X_TENANT_ID": "acme"}, 413),
    # methods
    ("get-ingest", "get", None, None, {}, 405),
    ("put-ingest", "put", JSON, body(), {}, 405),
    ("delete-ingest", "delete", None, None, {}, 405),
    ("patch-ingest", "patch", JSON, body(), {}, 405),
    # NDJSON batches with one bad line: the whole batch is refused
    ("ndjson-bad-json-line", "post", NDJSON, ndjson(GOOD, b"{oops", {**GOOD, "log_id": "3"}), {}, 400),
    ("ndjson-bad-identifier-line", "post", NDJSON, ndjson(GOOD, {**GOOD, "log_id": "../x"}), {}, 400),
    ("ndjson-empty-text-line", "post", NDJSON, ndjson(GOOD, {**GOOD, "log_id": "2", "text": ""}), {}, 400),
    ("ndjson-array-line", "post", NDJSON, ndjson(GOOD, [1, 2]), {}, 400),
    ("ndjson-empty-batch", "post", NDJSON, b"", {}, 400),
    (
        "ndjson-too-many-lines",
        "post",
        NDJSON,
        ndjson(*({**GOOD, "log_id": str(n)} for n in range(1001))),
        {},
        413,
    ),
]


@pytest.fixture
def client_in_open_mode(settings, db):
    settings.QUEUE_BACKEND = "database"
    settings.INGEST_AUTH = "open"
    return Client()


@pytest.mark.parametrize(
    ("method", "content_type", "payload", "headers", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hostile_request_is_refused_with_json_and_nothing_queued(
    client_in_open_mode, method, content_type, payload, headers, expected
):
    kwargs = dict(headers)
    if payload is not None:
        kwargs["data"] = payload
        kwargs["content_type"] = content_type
        # The test client drops Content-Type for an empty body; a real client may not.
        kwargs["CONTENT_TYPE"] = content_type
    response = getattr(client_in_open_mode, method)("/ingest", **kwargs)

    assert response.status_code == expected, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()
    assert set(error) >= {"error", "detail"}
    assert error["detail"]
    assert QueueMessage.objects.count() == 0


def test_the_table_covers_at_least_forty_cases():
    assert len({case[0] for case in CASES}) == len(CASES) >= 40


def test_a_batch_refusal_names_the_bad_line(client_in_open_mode):
    payload = ndjson(GOOD, {**GOOD, "log_id": "2"}, {**GOOD, "log_id": "__x__"})
    response = client_in_open_mode.post("/ingest", data=payload, content_type=NDJSON)
    assert response.status_code == 400
    assert "line 3" in response.json()["detail"]
    assert QueueMessage.objects.count() == 0


def test_a_well_formed_request_is_queued_so_the_table_is_not_vacuous(client_in_open_mode):
    response = client_in_open_mode.post("/ingest", data=body(), content_type=JSON)
    assert response.status_code == 202
    assert QueueMessage.objects.count() == 1


@pytest.fixture
def client_with_keys(settings, db):
    settings.QUEUE_BACKEND = "database"
    settings.INGEST_AUTH = "api_key"
    acme = Tenant.objects.create(id="acme")
    beta = Tenant.objects.create(id="beta_inc")
    Tenant.objects.create(id="dormant", active=False)
    _, acme_key = TenantAPIKey.objects.create_key(name="acme", tenant=acme)
    _, beta_key = TenantAPIKey.objects.create_key(name="beta", tenant=beta)
    return Client(), acme_key, beta_key


@pytest.mark.parametrize(
    ("auth", "tenant_id", "expected"),
    [
        ("none", "acme", 401),
        ("garbage", "acme", 401),
        ("other-tenant", "acme", 403),
        ("own", "beta_inc", 403),
        ("own", "dormant", 403),
        ("own-as-x-api-key", "dormant", 403),
    ],
)
def test_a_key_never_writes_for_another_tenant(client_with_keys, auth, tenant_id, expected):
    client, acme_key, beta_key = client_with_keys
    headers = {
        "none": {},
        "garbage": {"HTTP_AUTHORIZATION": "Bearer not-a-key"},
        "other-tenant": {"HTTP_AUTHORIZATION": f"Bearer {beta_key}"},
        "own": {"HTTP_AUTHORIZATION": f"Bearer {acme_key}"},
        "own-as-x-api-key": {"HTTP_X_API_KEY": acme_key},
    }[auth]
    response = client.post("/ingest", data=body(tenant_id=tenant_id), content_type=JSON, **headers)
    assert response.status_code == expected
    assert response.json()["error"]
    assert QueueMessage.objects.count() == 0


def test_a_key_cannot_smuggle_another_tenant_into_a_batch(client_with_keys):
    client, acme_key, _ = client_with_keys
    payload = ndjson(GOOD, {**GOOD, "tenant_id": "beta_inc", "log_id": "2"})
    response = client.post(
        "/ingest", data=payload, content_type=NDJSON, HTTP_AUTHORIZATION=f"Bearer {acme_key}"
    )
    assert response.status_code == 403
    assert QueueMessage.objects.count() == 0
