"""What every API view shares: JSON only, the tenant key authentication, the request id.

Bodies are read by the views themselves (``ingest.uploads``), not by DRF parsers,
and the client's ``Accept`` header is not negotiated: the API speaks JSON only, so
an odd ``Accept`` never turns into a 406.
"""

from __future__ import annotations

from django.http import HttpResponseBase
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import Forbidden, InvalidRequest
from core.identifiers import identifier_error
from dataproc_site.observability import context
from ingest.request_meta import request_id_from
from tenants.auth import AUTH_API_KEY, TenantKeyAuthentication, auth_mode, tenant_policy


class JsonOnlyNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return (renderers[0], renderers[0].media_type)


class ApiView(APIView):
    renderer_classes = [JSONRenderer]
    parser_classes: list = []
    content_negotiation_class = JsonOnlyNegotiation
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Before authentication, so even a 401 carries the id.
        request.request_id = request_id_from(request.META)
        # A wrong method is 405 whoever asks, key or not (DRF would authenticate first).
        if request.method.lower() not in self.http_method_names:
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response, *args, **kwargs) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        request_id = getattr(request, "request_id", None)
        if request_id and not response.has_header("X-Request-ID"):
            response["X-Request-ID"] = request_id
        return response


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
