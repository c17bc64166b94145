"""The base of every view that acts for one tenant, and how the schema describes its key.

``TenantApiView`` authenticates the tenant's key (``INGEST_AUTH=api_key``) and
resolves which tenant a request is for; the OpenAPI extension below documents the
two ways of sending the key. The intake and the read API both build on it.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request

from core.errors import Forbidden, InvalidRequest
from core.identifiers import identifier_error
from dataproc_site.api.schema import IDENTIFIER_PATTERN, error
from dataproc_site.api.views import ApiView
from dataproc_site.observability import context
from tenants.auth import AUTH_API_KEY, TenantKeyAuthentication, auth_mode, tenant_policy

BEARER_SCHEME = "BearerKey"
HEADER_SCHEME = "ApiKeyHeader"


class TenantApiView(ApiView):
    """A view acting for one tenant: ``request.auth`` is the key's grant under ``api_key``."""

    authentication_classes = [TenantKeyAuthentication]

    def reading_tenant(self, request: Request) -> str:
        """The tenant a read is for: the key's (``api_key``) or the X-Tenant-ID header (``open``)."""
        header = request.META.get("HTTP_X_TENANT_ID")
        if header is not None:
            problem = identifier_error(header, "X-Tenant-ID")
            if problem:
                raise InvalidRequest(problem)
        if auth_mode() == AUTH_API_KEY:
            tenant_id = request.auth.tenant_id
            if header is not None and header != tenant_id:
                raise Forbidden(f"This API key belongs to tenant {tenant_id!r}, not {header!r}.")
        elif header is None:
            raise InvalidRequest("An X-Tenant-ID header is required.")
        else:
            tenant_id = header
        policy = tenant_policy(tenant_id)
        if policy is None and auth_mode() == AUTH_API_KEY:
            raise Forbidden(f"Tenant {tenant_id!r} no longer exists.")
        if policy is not None and not policy.active:
            raise Forbidden(f"Tenant {tenant_id!r} is inactive.")
        context.set_tenant(tenant_id)  # for the request's metrics and log line
        return tenant_id


class TenantKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The schema's security schemes; under ``INGEST_AUTH=open`` no key is needed as well."""

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


def tenant_header(description: str, *, validated: bool = True) -> OpenApiParameter:
    """``validated=False`` where the header may be ignored (JSON uploads): no pattern is promised."""
    return OpenApiParameter(
        "X-Tenant-ID",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=description,
        pattern=IDENTIFIER_PATTERN if validated else None,
    )


AUTH_ERRORS = {
    401: error("INGEST_AUTH=api_key: no API key, or an unknown, revoked or expired one."),
    403: error("The key belongs to another tenant, or the tenant is inactive."),
}
