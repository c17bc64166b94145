"""The intake's 202s: orjson writes the bytes DRF's JSONRenderer wrote, headers and all."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from ingest.responses import render_json

TEXT = st.text() | st.text(alphabet='\x00\x01\x1f\x7f"\\/\b\f\n\r\t\u2028\u2029é\u2603', max_size=12)
BODIES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=800, deadline=None)
@given(st.dictionaries(TEXT, BODIES, max_size=6))
def test_a_body_is_written_as_the_renderer_writes_it(body):
    try:
        expected = JSONRenderer().render(body)
    except UnicodeEncodeError:  # a lone surrogate: the renderer fails, and so must this
        with pytest.raises(UnicodeEncodeError):
            render_json(body)
        return
    assert render_json(body) == expected


def test_line_and_paragraph_separators_are_escaped_as_the_renderer_escapes_them():
    body = {"detail": "a\u2028b\u2029c"}
    assert render_json(body) == JSONRenderer().render(body) == b'{"detail":"a\\u2028b\\u2029c"}'


@pytest.mark.django_db
@pytest.mark.usefixtures("open_mode")
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"tenant_id": "acme", "text": "one log \u2028 caf\u00e9"}', "application/json"),
        ('{"tenant_id": "acme", "text": "a"}\n{"tenant_id": "acme"}\n', "application/x-ndjson"),
    ],
    ids=["single", "batch"],
)
def test_a_202_is_the_response_drf_would_have_rendered(client, queue, body, content_type):
    response = client.post("/ingest", data=body, content_type=content_type)

    assert response.status_code == 202
    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(json.loads(response.content))
    # The 400 of a batch with nothing valid is still a DRF Response: the same headers.
    refused = client.post("/ingest", data='{"tenant_id": "acme"}\n' * 2, content_type="application/x-ndjson")
    assert refused.status_code == 400
    assert sorted(response.headers) == sorted(refused.headers)
