"""POST /ingest with text/plain: the body is the text, the tenant comes in X-Tenant-ID."""

import uuid

import pytest

from core.envelope import SOURCE_TEXT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]

README_TEXT = "Alert: System status check for 555-1234"


def post_text(client, body, content_type="text/plain", **headers):
    # generic(), not post(): post() re-encodes bodies to the declared charset, and
    # drops the Content-Type of an empty body, which a real client still sends.
    return client.generic("POST", "/ingest", body, content_type, headers=headers, CONTENT_TYPE=content_type)


def test_it_accepts_the_readme_example_and_generates_a_uuid4_log_id(client, queue):
    response = post_text(client, README_TEXT, **{"X-Tenant-ID": "beta_inc"})

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "accepted"
    assert body["tenant_id"] == "beta_inc"
    assert uuid.UUID(body["log_id"]).version == 4
    assert body["message_id"] == queue.queued()[0][0]


def test_it_queues_the_body_verbatim_as_a_text_upload(client, queue):
    post_text(client, README_TEXT + "\nsecond line\n", **{"X-Tenant-ID": "beta_inc"})

    [envelope] = queue.queued_envelopes()
    assert envelope.text == README_TEXT + "\nsecond line\n"
    assert envelope.source == SOURCE_TEXT
    assert envelope.tenant_id == "beta_inc"


def test_it_uses_the_log_id_header_when_given(client, queue):
    response = post_text(client, README_TEXT, **{"X-Tenant-ID": "beta_inc", "X-Log-ID": "alert-7"})

    assert response.json()["log_id"] == "alert-7"
    assert queue.queued_envelopes()[0].log_id == "alert-7"


def test_it_accepts_a_utf8_charset_parameter(client, queue):
    response = post_text(
        client, "température 21°C".encode(), "text/plain; charset=utf-8", **{"X-Tenant-ID": "beta_inc"}
    )

    assert response.status_code == 202
    assert queue.queued_envelopes()[0].text == "température 21°C"


def test_it_refuses_text_without_tenant_header(client, queue):
    response = post_text(client, README_TEXT)

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "detail": "text/plain uploads need an X-Tenant-ID header (or an API key naming the tenant).",
    }
    assert queue.queued_envelopes() == []


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-Tenant-ID": "../other"}, "X-Tenant-ID"),
        ({"X-Tenant-ID": "__admin__"}, "X-Tenant-ID"),
        ({"X-Tenant-ID": ".."}, "X-Tenant-ID"),
        ({"X-Tenant-ID": "a" * 129}, "X-Tenant-ID"),
        ({"X-Tenant-ID": ""}, "X-Tenant-ID"),
        ({"X-Tenant-ID": "beta_inc", "X-Log-ID": "a/b"}, "X-Log-ID"),
        ({"X-Tenant-ID": "beta_inc", "X-Log-ID": ""}, "X-Log-ID"),
    ],
)
def test_it_refuses_identifiers_outside_the_allowed_form(client, queue, headers, named):
    response = post_text(client, README_TEXT, **headers)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(named)
    assert queue.queued_envelopes() == []


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"nul \x00 inside"])
def test_it_refuses_empty_or_unstorable_text(client, queue, body):
    response = post_text(client, body, **{"X-Tenant-ID": "beta_inc"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert queue.queued_envelopes() == []


def test_it_refuses_a_body_that_is_not_utf8(client, queue):
    response = post_text(client, "caf\xe9".encode("latin-1"), **{"X-Tenant-ID": "beta_inc"})

    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
    assert queue.queued_envelopes() == []


def test_it_refuses_a_charset_other_than_utf8(client, queue):
    response = post_text(
        client, "caf\xe9".encode("latin-1"), "text/plain; charset=latin-1", **{"X-Tenant-ID": "beta_inc"}
    )

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert queue.queued_envelopes() == []
