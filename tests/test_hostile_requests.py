"""Malformed and hostile requests: every one a 4xx with a JSON error (OTLP: a Status), none a 5xx, nothing queued.

Runs against the real embedded queue (the ``QueueMessage`` table), so "nothing
queued" is read from where a worker would find the message.
"""

import gzip
import json
import zlib

import pytest
import zstandard
from django.test import Client
from google.protobuf import json_format
from google.rpc import status_pb2

from processing.models import QueueMessage
from tenants.models import Tenant, TenantAPIKey

JSON = "application/json"
TEXT = "text/plain"
NDJSON = "application/x-ndjson"
PROTOBUF = "application/x-protobuf"
GOOD = {"tenant_id": "acme", "log_id": "1", "text": "hello"}
MiB = 1024 * 1024
# What a few KiB inflate to: far past INGEST_MAX_DECOMPRESSED_BYTES (20 MiB).
BOMB_PLAIN = b"[" + b" " * (64 * MiB)
GZIP_BOMB = gzip.compress(BOMB_PLAIN, compresslevel=9)
DEFLATE_BOMB = zlib.compress(BOMB_PLAIN, 9)
ZSTD_BOMB = zstandard.ZstdCompressor(level=19).compress(BOMB_PLAIN)


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
    ("json-array-without-text", "post", JSON, b'[{"tenant_id": "acme"}]', {}, 400),
    ("json-array-of-numbers", "post", JSON, b"[1, 2, 3]", {}, 400),
    ("json-array-empty", "post", JSON, b"[]", {}, 400),
    ("json-array-of-arrays", "post", JSON, b"[[], [{}]]", {}, 400),
    ("json-nan", "post", JSON, body(n=float("nan")), {}, 400),
    ("json-infinity", "post", JSON, b'{"tenant_id":"acme","log_id":"1","text":"x","n":Infinity}', {}, 400),
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
    ("log-id-number", "post", JSON, body(log_id=7), {}, 400),
    ("message-number", "post", JSON, json.dumps({"tenant_id": "acme", "message": 7}).encode(), {}, 400),
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
    ("oversize-json-text", "post", JSON, body(text="x" * 10_001), {}, 413),
    ("oversize-plain-text", "post", TEXT, b"x" * 10_001, {"HTTP_X_TENANT_ID": "acme"}, 413),
    ("oversize-body", "post", JSON, body(text="x" * (10 * MiB)), {}, 413),
    ("announced-oversize-body", "post", JSON, body(), {"CONTENT_LENGTH": str(10 * MiB + 1)}, 413),
    # Content-Encoding
    ("gzip-bomb", "post", JSON, GZIP_BOMB, {"HTTP_CONTENT_ENCODING": "gzip"}, 413),
    ("deflate-bomb", "post", NDJSON, DEFLATE_BOMB, {"HTTP_CONTENT_ENCODING": "deflate"}, 413),
    ("zstd-bomb", "post", JSON, ZSTD_BOMB, {"HTTP_CONTENT_ENCODING": "zstd"}, 413),
    ("unknown-encoding", "post", JSON, body(), {"HTTP_CONTENT_ENCODING": "br"}, 415),
    (
        "stacked-encodings",
        "post",
        JSON,
        gzip.compress(gzip.compress(body())),
        {"HTTP_CONTENT_ENCODING": "gzip, gzip"},
        415,
    ),
    ("not-gzip-at-all", "post", JSON, body(), {"HTTP_CONTENT_ENCODING": "gzip"}, 400),
    ("truncated-gzip", "post", JSON, gzip.compress(body())[:-10], {"HTTP_CONTENT_ENCODING": "gzip"}, 400),
    (
        "gzip-then-garbage",
        "post",
        JSON,
        gzip.compress(body()) + b"garbage",
        {"HTTP_CONTENT_ENCODING": "gzip"},
        400,
    ),
    (
        "zstd-huge-window",
        "post",
        JSON,
        bytes.fromhex("28b52ffd0000") + b"\x00" * 8,
        {"HTTP_CONTENT_ENCODING": "zstd"},
        400,
    ),
    # methods
    ("get-ingest", "get", None, None, {}, 405),
    ("put-ingest", "put", JSON, body(), {}, 405),
    ("delete-ingest", "delete", None, None, {}, 405),
    ("patch-ingest", "patch", JSON, body(), {}, 405),
    # NDJSON batches in which no line is a valid log (one bad line alone is a partial success)
    ("ndjson-bad-json-lines", "post", NDJSON, ndjson(b"{oops", b"}{"), {}, 400),
    (
        "ndjson-bad-identifier-lines",
        "post",
        NDJSON,
        ndjson({**GOOD, "log_id": "../x"}, {**GOOD, "tenant_id": ".."}),
        {},
        400,
    ),
    ("ndjson-empty-text-line", "post", NDJSON, ndjson({**GOOD, "log_id": "2", "text": ""}), {}, 400),
    ("ndjson-array-line", "post", NDJSON, ndjson([1, 2]), {}, 400),
    ("ndjson-not-utf8", "post", NDJSON, b'{"tenant_id":"acme","text":"\xff"}', {}, 400),
    ("ndjson-empty-batch", "post", NDJSON, b"", {}, 400),
    ("ndjson-blank-lines-only", "post", NDJSON, b"\n\n \r\n", {}, 400),
    ("ndjson-no-tenant-anywhere", "post", NDJSON, ndjson({"message": "whose?"}), {}, 400),
    (
        "ndjson-duplicates-of-an-invalid-line",
        "post",
        NDJSON,
        ndjson({**GOOD, "text": ""}, {**GOOD, "text": ""}),
        {},
        400,
    ),
    (
        "ndjson-too-many-lines",
        "post",
        NDJSON,
        ndjson(*({**GOOD, "log_id": str(n)} for n in range(1001))),
        {},
        413,
    ),
    (
        "json-array-too-many",
        "post",
        JSON,
        json.dumps([{**GOOD, "log_id": str(n)} for n in range(1001)]).encode(),
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


def test_a_batch_refusal_names_every_bad_line(client_in_open_mode):
    payload = ndjson(
        {**GOOD, "text": ""}, b"", {**GOOD, "log_id": "2", "text": 5}, {**GOOD, "log_id": "__x__"}
    )
    response = client_in_open_mode.post("/ingest", data=payload, content_type=NDJSON)
    assert response.status_code == 400
    assert [error["detail"].split(":")[0] for error in response.json()["errors"]] == [
        "line 1",
        "line 3",
        "line 4",
    ]
    assert QueueMessage.objects.count() == 0


def test_one_bad_line_is_rejected_alone_and_only_the_good_ones_are_queued(client_in_open_mode):
    payload = ndjson(GOOD, {**GOOD, "log_id": "2", "text": "\u0000"}, b"{oops", {**GOOD, "log_id": "4"})
    response = client_in_open_mode.post("/ingest", data=payload, content_type=NDJSON)
    assert response.status_code == 202
    assert [error["index"] for error in response.json()["errors"]] == [1, 2]
    assert sorted(QueueMessage.objects.values_list("log_id", flat=True)) == ["1", "4"]


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
    assert response.status_code == 202
    assert response.json()["errors"][0]["error"] == "forbidden_tenant"
    assert list(QueueMessage.objects.values_list("tenant_id", flat=True)) == ["acme"]


def test_a_batch_only_for_another_tenant_is_403(client_with_keys):
    client, acme_key, _ = client_with_keys
    payload = ndjson({**GOOD, "tenant_id": "beta_inc"}, {**GOOD, "tenant_id": "beta_inc", "log_id": "2"})
    response = client.post(
        "/ingest", data=payload, content_type=NDJSON, HTTP_AUTHORIZATION=f"Bearer {acme_key}"
    )
    assert response.status_code == 403
    assert QueueMessage.objects.count() == 0


# -- POST /v1/logs: errors are google.rpc.Status, in the request's encoding --------------------


def otlp_json(*records) -> bytes:
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": list(records)}]}]}).encode()


ONE_RECORD = otlp_json({"body": {"stringValue": "hello"}})

# (case id, method, content type, body, extra headers, expected status)
OTLP_CASES = [
    ("protobuf-garbage", "post", PROTOBUF, b"\xff\xff\xff\xff", {}, 400),
    ("protobuf-truncated", "post", PROTOBUF, b"\x0a\x10\x12", {}, 400),
    ("json-garbage", "post", JSON, b"{oops", {}, 400),
    ("json-array", "post", JSON, b"[]", {}, 400),
    ("json-wrong-shape", "post", JSON, b'{"resourceLogs": "many"}', {}, 400),
    (
        "json-wrong-enum",
        "post",
        JSON,
        otlp_json({"body": {"stringValue": "x"}, "severityNumber": {"loud": 1}}),
        {},
        400,
    ),
    ("json-bad-trace-id", "post", JSON, otlp_json({"body": {"stringValue": "x"}, "traceId": "zz"}), {}, 400),
    ("json-nan", "post", JSON, b'{"resourceLogs": NaN}', {}, 400),
    ("json-not-utf8", "post", JSON, b'{"resourceLogs": "\xff"}', {}, 400),
    ("json-deeply-nested", "post", JSON, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, {}, 400),
    ("record-without-body", "post", JSON, otlp_json({"severityText": "INFO"}), {}, 400),
    ("record-blank-body", "post", JSON, otlp_json({"body": {"stringValue": "  "}}), {}, 400),
    ("record-nul-body", "post", JSON, otlp_json({"body": {"stringValue": "a\u0000b"}}), {}, 400),
    ("record-oversize-body", "post", JSON, otlp_json({"body": {"stringValue": "x" * 10_001}}), {}, 400),
    ("no-tenant-in-open-mode", "post", JSON, ONE_RECORD, {"HTTP_X_TENANT_ID": None}, 400),
    ("bad-tenant-header", "post", JSON, ONE_RECORD, {"HTTP_X_TENANT_ID": "../beta"}, 400),
    ("xml", "post", "application/xml", b"<logs/>", {}, 415),
    ("ndjson", "post", NDJSON, b"{}", {}, 415),
    ("missing-content-type", "post", "", ONE_RECORD, {}, 415),
    ("unknown-encoding", "post", JSON, ONE_RECORD, {"HTTP_CONTENT_ENCODING": "br"}, 415),
    ("gzip-bomb", "post", PROTOBUF, GZIP_BOMB, {"HTTP_CONTENT_ENCODING": "gzip"}, 413),
    ("zstd-bomb", "post", JSON, ZSTD_BOMB, {"HTTP_CONTENT_ENCODING": "zstd"}, 413),
    ("oversize-body", "post", JSON, b" " * (10 * MiB + 1), {}, 413),
    ("too-many-records", "post", JSON, otlp_json(*([{"body": {"stringValue": "x"}}] * 1001)), {}, 413),
    ("get", "get", None, None, {}, 405),
    ("put", "put", JSON, ONE_RECORD, {}, 405),
]


def decode_status(response) -> status_pb2.Status:
    if response["Content-Type"] == PROTOBUF:
        return status_pb2.Status.FromString(response.content)
    assert response["Content-Type"] == JSON
    return json_format.Parse(response.content, status_pb2.Status())


@pytest.mark.parametrize(
    ("method", "content_type", "payload", "headers", "expected"),
    [case[1:] for case in OTLP_CASES],
    ids=[case[0] for case in OTLP_CASES],
)
def test_hostile_otlp_request_is_refused_with_a_status_and_nothing_queued(
    client_in_open_mode, method, content_type, payload, headers, expected
):
    kwargs = {"HTTP_X_TENANT_ID": "acme", **headers}
    kwargs = {name: value for name, value in kwargs.items() if value is not None}
    if payload is not None:
        kwargs["data"] = payload
        kwargs["content_type"] = content_type
        kwargs["CONTENT_TYPE"] = content_type
    response = getattr(client_in_open_mode, method)("/v1/logs", **kwargs)

    assert response.status_code == expected, response.content[:300]
    if content_type == PROTOBUF:
        assert response["Content-Type"] == PROTOBUF
    assert decode_status(response).message
    assert QueueMessage.objects.count() == 0


def test_the_otlp_table_covers_at_least_twenty_cases():
    assert len({case[0] for case in OTLP_CASES}) == len(OTLP_CASES) >= 20


@pytest.mark.parametrize("auth", ["none", "garbage", "other-tenant-header"])
def test_a_key_never_exports_for_another_tenant(client_with_keys, auth):
    client, acme_key, _ = client_with_keys
    headers = {
        "none": {},
        "garbage": {"HTTP_AUTHORIZATION": "Bearer not-a-key"},
        "other-tenant-header": {"HTTP_AUTHORIZATION": f"Bearer {acme_key}", "HTTP_X_TENANT_ID": "beta_inc"},
    }[auth]
    response = client.post("/v1/logs", data=ONE_RECORD, content_type=JSON, **headers)
    assert response.status_code in (401, 403)
    assert decode_status(response).message
    assert QueueMessage.objects.count() == 0
