"""Everything a client can get wrong at /ingest: a JSON 4xx, never a 5xx, and nothing queued."""

import gzip
import io
import json
import zlib

import pytest
import zstandard
from django.test import RequestFactory

from core.errors import InvalidRequest, PayloadTooLarge
from dataproc_site.api.error_handlers import server_error
from ingest import uploads
from ingest.formats.limits import IntakeLimits
from processing.queues import get_queue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]

VALID = {"tenant_id": "acme", "log_id": "1", "text": "hello"}


def post_raw(client, body, content_type="application/json", **extra):
    return client.generic("POST", "/ingest", body, content_type, CONTENT_TYPE=content_type, **extra)


def assert_json_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == code
    assert body["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "empty"),
        (b"{", "malformed JSON"),
        (b"{'tenant_id': 'acme'}", "malformed JSON"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": "x"} trailing', "malformed JSON"),
        (b"[]", "The batch is empty"),
        (b'"just a string"', "expected a JSON log object or an array"),
        (b"42", "expected a JSON log object or an array"),
        (b"null", "expected a JSON log object or an array"),
        (b'{"log_id": "1", "text": "x"}', "tenant_id is required"),
        (b'{"tenant_id": "acme", "log_id": "1"}', "text is required"),
        (b'{"tenant_id": "acme", "log_id": "1", "message": 5}', "message must be a string"),
        (b'{"tenant_id": 7, "log_id": "1", "text": "x"}', "tenant_id must be a string"),
        (b'{"tenant_id": "acme", "log_id": 12, "text": "x"}', "log_id must be a string"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": ["x"]}', "text must be a string"),
        (b'{"tenant_id": "", "log_id": "1", "text": "x"}', "tenant_id must not be empty"),
        (b'{"tenant_id": "acme", "log_id": "", "text": "x"}', "log_id must not be empty"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": ""}', "text must not be empty"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": " \\n\\t "}', "text must not be empty"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": "a\\u0000b"}', "NUL"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": "\\ud800"}', "unpaired surrogate"),
        (b'{"tenant_id": "../etc", "log_id": "1", "text": "x"}', "tenant_id may contain only"),
        (b'{"tenant_id": "acme", "log_id": "a b", "text": "x"}', "log_id may contain only"),
        (b'{"tenant_id": ".", "log_id": "1", "text": "x"}', "tenant_id must not be '.'"),
        (b'{"tenant_id": "__x__", "log_id": "1", "text": "x"}', "reserved form"),
        (json.dumps({**VALID, "tenant_id": "t" * 129}).encode(), "at most 128"),
        (b'{"tenant_id": "caf\xe9", "log_id": "1", "text": "x"}', "not valid UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": "x", "n": ' + b"9" * 5000 + b"}", "malformed JSON"),
        (b'{"tenant_id": "acme", "log_id": "1", "text": "x", "n": NaN}', "NaN is not a JSON value"),
    ],
)
def test_it_refuses_an_invalid_json_upload_with_400_and_queues_nothing(client, queue, body, expected):
    response = post_raw(client, body)

    assert_json_error(response, 400, "invalid_request")
    assert expected in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_it_accepts_json_with_a_byte_order_mark(client, queue):
    response = post_raw(client, b"\xef\xbb\xbf" + json.dumps(VALID).encode())

    assert response.status_code == 202


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_get_a_json_405_naming_post(client, queue, method):
    response = client.generic(method, "/ingest", json.dumps(VALID), content_type="application/json")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    if method != "HEAD":
        assert_json_error(response, 405, "method_not_allowed")
    assert queue.queued_envelopes() == []


@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html"],
)
def test_other_content_types_get_415(client, queue, content_type):
    response = post_raw(client, json.dumps(VALID).encode(), content_type)

    assert_json_error(response, 415, "unsupported_media_type")
    assert queue.queued_envelopes() == []


def test_a_missing_content_type_gets_415(client, queue):
    response = client.generic("POST", "/ingest", json.dumps(VALID).encode(), content_type="")

    assert_json_error(response, 415, "unsupported_media_type")
    assert "Content-Type header is required" in response.json()["detail"]


def test_a_json_charset_other_than_utf8_gets_415(client, queue):
    response = post_raw(client, json.dumps(VALID).encode("utf-16"), "application/json; charset=utf-16")

    assert_json_error(response, 415, "unsupported_media_type")


def test_a_body_over_the_limit_gets_413(client, queue, settings):
    settings.INGEST_MAX_BODY_BYTES = 100

    response = post_raw(client, json.dumps({**VALID, "text": "x" * 200}).encode())

    assert_json_error(response, 413, "payload_too_large")
    assert queue.queued_envelopes() == []


def test_a_body_exactly_at_the_limit_is_accepted(client, queue, settings):
    body = json.dumps({**VALID, "text": "x" * 50}).encode()
    settings.INGEST_MAX_BODY_BYTES = len(body)

    response = post_raw(client, body)

    assert response.status_code == 202


def test_an_announced_oversize_body_is_refused_before_it_is_read(client, queue, settings):
    settings.INGEST_MAX_BODY_BYTES = 1000
    # The test payload holds only a few bytes: reading the announced size would fail loudly.
    response = post_raw(client, json.dumps(VALID).encode(), CONTENT_LENGTH="50000000")

    assert_json_error(response, 413, "payload_too_large")
    assert "50000000" in response.json()["detail"]


def test_a_content_length_that_is_not_a_number_gets_400(client, queue):
    response = post_raw(client, json.dumps(VALID).encode(), CONTENT_LENGTH="lots")

    assert_json_error(response, 400, "invalid_request")


def test_a_single_log_over_the_text_limit_is_413_naming_the_limit(client, queue, settings):
    settings.INGEST_MAX_TEXT_CHARS = 10

    response = post_raw(client, json.dumps({**VALID, "text": "x" * 11}).encode())

    assert_json_error(response, 413, "payload_too_large")
    assert response.json()["detail"] == "text is 11 characters; the limit is 10."
    assert queue.queued_envelopes() == []


def test_a_single_log_exactly_at_the_text_limit_is_accepted(client, queue, settings):
    settings.INGEST_MAX_TEXT_CHARS = 10

    assert post_raw(client, json.dumps({**VALID, "text": "x" * 10}).encode()).status_code == 202


def test_a_single_log_without_log_id_gets_a_generated_one(client, queue):
    response = post_raw(client, b'{"tenant_id": "acme", "log_id": null, "message": "hello"}')

    assert response.status_code == 202
    assert response.json()["log_id"] == queue.queued_envelopes()[0].log_id


# -- Content-Encoding -------------------------------------------------------------------

ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_a_compressed_body_is_decoded(client, queue, encoding):
    body = ENCODERS[encoding](json.dumps(VALID).encode())

    response = post_raw(client, body, HTTP_CONTENT_ENCODING=encoding)

    assert response.status_code == 202
    assert queue.queued_envelopes()[0].text == "hello"


@pytest.mark.parametrize("encoding", ["br", "compress", "gzip, zstd", "identity-ish"])
def test_an_unknown_or_stacked_content_encoding_is_415(client, queue, encoding):
    response = post_raw(client, json.dumps(VALID).encode(), HTTP_CONTENT_ENCODING=encoding)

    assert_json_error(response, 415, "unsupported_media_type")
    assert "Content-Encoding" in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_a_body_that_is_not_what_its_encoding_says_is_400(client, queue):
    response = post_raw(client, json.dumps(VALID).encode(), HTTP_CONTENT_ENCODING="gzip")

    assert_json_error(response, 400, "invalid_request")
    assert "not valid gzip data" in response.json()["detail"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd"])
def test_a_decompression_bomb_is_413_and_nothing_queued(client, queue, settings, encoding):
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 1024 * 1024
    bomb = ENCODERS[encoding](b"[" + b" " * (64 * 1024 * 1024))
    assert len(bomb) < 200_000

    response = post_raw(client, bomb, HTTP_CONTENT_ENCODING=encoding)

    assert_json_error(response, 413, "payload_too_large")
    assert "decompresses to more than the limit of 1048576 bytes" in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_the_wire_limit_counts_the_compressed_bytes(client, queue, settings):
    body = gzip.compress(json.dumps({**VALID, "text": "x" * 5000}).encode())
    settings.INGEST_MAX_BODY_BYTES = len(body)

    assert post_raw(client, body, HTTP_CONTENT_ENCODING="gzip").status_code == 202


# -- reading the body ---------------------------------------------------------------------


class EndlessBody:
    """A request whose body never ends and that announces no length: reads must stay bounded."""

    def __init__(self):
        self.META = {}
        self.bytes_read = 0

    def read(self, size):
        self.bytes_read += size
        return b"x" * size


def limits(max_bytes):
    return IntakeLimits(max_body_bytes=max_bytes, max_decompressed_bytes=max_bytes)


def test_reading_stops_just_past_the_limit_whatever_the_headers_say():
    request = EndlessBody()

    with pytest.raises(PayloadTooLarge):
        uploads.read_body(request, limits(10_000))

    assert request.bytes_read == 10_001


def test_a_body_shorter_than_its_content_length_is_refused():
    request = RequestFactory().generic("POST", "/ingest", b"hello", content_type="text/plain")
    request.META["CONTENT_LENGTH"] = "10"
    request._stream = io.BytesIO(b"hello")

    with pytest.raises(InvalidRequest, match="ended after 5 of the 10 bytes"):
        uploads.read_body(request, limits(1000))


def test_a_chunked_body_is_read_from_a_terminated_wsgi_input_within_the_limit():
    request = RequestFactory().generic("POST", "/ingest", b"", content_type="text/plain")
    request.META.pop("CONTENT_LENGTH", None)
    request.META["wsgi.input_terminated"] = True
    request.META["wsgi.input"] = io.BytesIO(b"a" * 300)

    assert uploads.read_body(request, limits(300)) == b"a" * 300
    request.META["wsgi.input"] = io.BytesIO(b"a" * 301)
    with pytest.raises(PayloadTooLarge):
        uploads.read_body(request, limits(300))


def test_reading_returns_the_whole_body_within_the_limit():
    request = RequestFactory().generic("POST", "/ingest", b"a" * 5000, content_type="text/plain")

    assert uploads.read_body(request, limits(5000)) == b"a" * 5000


@pytest.mark.parametrize("fake", ["UnavailableQueue", "BrokenQueue"])
def test_a_queue_that_does_not_take_the_log_gets_503_with_retry_after(client, settings, fake):
    settings.QUEUE_BACKEND = f"tests.doubles.{fake}"
    settings.INGEST_RETRY_AFTER_SECONDS = 7

    response = post_raw(client, json.dumps(VALID).encode())

    assert_json_error(response, 503, "unavailable")
    assert response["Retry-After"] == "7"
    assert "nothing was accepted" in response.json()["detail"]
    assert get_queue().queued_envelopes() == []


def test_a_batch_the_queue_refuses_gets_503(client, settings):
    """Nothing of a batch is accepted unless the queue took all of it."""
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"
    body = (json.dumps(VALID) + "\n" + json.dumps({**VALID, "log_id": "2"})).encode()

    response = post_raw(client, body, "application/x-ndjson")

    assert_json_error(response, 503, "unavailable")
    assert response["Retry-After"]


@pytest.mark.parametrize("path", ["/nope", "/ingest/", "/logs/a/b"])
def test_unknown_routes_get_a_json_404(client, path):
    response = client.get(path)

    assert_json_error(response, 404, "not_found")


def test_the_admin_keeps_its_html_404(client, admin_client):
    response = admin_client.get("/admin/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_crash_outside_drf_is_a_json_500_for_the_api():
    response = server_error(RequestFactory().get("/ingest"))

    assert response.status_code == 500
    assert json.loads(response.content)["error"] == "internal_error"
