"""OpenAPI building blocks every route shares: identifiers, the error body, common headers.

The patterns mirror ``core.identifiers`` so generated clients and fuzzers produce
what the API accepts.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from core.identifiers import IDENTIFIER_MAX_LENGTH

# 1-128 of [A-Za-z0-9._:-], not "." or "..", not "__name__" (core.identifiers).
IDENTIFIER_PATTERN = r"^(?!\.{1,2}$)(?!__.*__$)[A-Za-z0-9._:-]{1,128}$"
IDENTIFIER_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": IDENTIFIER_MAX_LENGTH,
    "pattern": IDENTIFIER_PATTERN,
}


@extend_schema_field(IDENTIFIER_SCHEMA)
class IdentifierField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["ok"]})
class OkStatusField(serializers.CharField):
    pass


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable machine-readable code, e.g. invalid_request.")
    detail = serializers.CharField(help_text="What went wrong, for people.")


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-ID",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    # Any value is accepted (a malformed one is replaced), so no pattern: the
    # schema must not promise a 400 the API never gives.
    description="Correlation id ([A-Za-z0-9._:/+=-], up to 128); echoed back, generated when absent or malformed.",
)
REQUEST_ID_RESPONSE_HEADER = OpenApiParameter(
    "X-Request-ID",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The request's correlation id (the client's, or a generated one).",
    response=True,
)
RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="Seconds to wait before retrying.",
    response=[429, 503],
)
WWW_AUTHENTICATE_HEADER = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="How to authenticate (Bearer).",
    response=[401],
)
