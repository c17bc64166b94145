"""The intake's JSON answers: the bytes DRF's ``JSONRenderer`` writes, written by orjson.

The 202 of a 500-log batch lists 500 items; ``json.dumps`` (the renderer) spent
about a microsecond a log on it, orjson a tenth of that. Its output is the
renderer's under the project's DRF settings (compact separators, UTF-8 kept,
U+2028/U+2029 escaped as the renderer escapes them) for what these bodies hold:
strings, integers, booleans, None, lists and dicts with string keys, no floats
(``ingest.tests.test_responses`` compares them). Whatever orjson refuses (an
integer past 64 bits, a lone surrogate) goes through the renderer itself.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

# orjson's output is the renderer's only under these settings (DRF's defaults).
_ORJSON_IS_THE_RENDERERS = JSONRenderer.compact and not JSONRenderer.ensure_ascii
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


def json_response(body: dict, status: int) -> HttpResponse:
    """What a DRF ``Response(body, status=status)`` of a JSON-only view becomes, rendered now."""
    return HttpResponse(render_json(body), status=status, content_type=JSONRenderer.media_type)


def render_json(body: object) -> bytes:
    """``JSONRenderer().render(body)`` for a body without floats."""
    if _ORJSON_IS_THE_RENDERERS:
        try:
            content = orjson.dumps(body)
        except TypeError:
            pass
        else:
            if _LINE_SEPARATOR in content or _PARAGRAPH_SEPARATOR in content:
                content = content.replace(_LINE_SEPARATOR, b"\\u2028").replace(
                    _PARAGRAPH_SEPARATOR, b"\\u2029"
                )
            return content
    return JSONRenderer().render(body)
