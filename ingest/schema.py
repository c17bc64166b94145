"""OpenAPI pieces shared by the API views: security schemes, error responses, headers.

The schema is generated for the running configuration: under ``INGEST_AUTH=open``
every operation also lists the empty security requirement (no key needed), under
``api_key`` it does not.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from ingest.serializers import IDENTIFIER_PATTERN, ErrorSerializer

BEARER_SCHEME = "BearerKey"
HEADER_SCHEME = "ApiKeyHeader"


class TenantKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.auth.TenantKeyAuthentication"
    name = [BEARER_SCHEME, HEADER_SCHEME]

    def get_security_requirement(self, auto_schema) -> list[dict]:
        requirements: list[dict] = [{BEARER_SCHEME: []}, {HEADER_SCHEME: []}]
        if settings.INGEST_AUTH == "open":
            requirements.append({})
        return requirements

    def get_security_definition(self, auto_schema) -> list[dict]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": "A tenant API key (manage.py create_tenant / create_api_key).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The same key, as a header.",
            },
        ]


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


def tenant_header(description: str, *, validated: bool = True) -> OpenApiParameter:
    """``validated=False`` where the header may be ignored (JSON uploads): no pattern is promised."""
    return OpenApiParameter(
        "X-Tenant-ID",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=description,
        pattern=IDENTIFIER_PATTERN if validated else None,
    )


def require_tenant_header_in_open_mode(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: under ``INGEST_AUTH=open`` the read API needs X-Tenant-ID.

    With API keys the key names the tenant and the header is optional; the schema
    describes the running configuration, like the security requirements above.
    """
    if settings.INGEST_AUTH != "open":
        return result
    for route, operations in result.get("paths", {}).items():
        if not route.startswith("/logs"):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "X-Tenant-ID":
                    parameter["required"] = True
    return result


AUTH_ERRORS = {
    401: error("INGEST_AUTH=api_key: no API key, or an unknown, revoked or expired one."),
    403: error("The key belongs to another tenant, or the tenant is inactive."),
}
