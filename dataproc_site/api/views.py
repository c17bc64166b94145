"""The base of every API view: JSON only, errors in one shape, the request id on every answer.

Bodies are read by the views themselves, not by DRF parsers, and the client's
``Accept`` header is not negotiated: the API speaks JSON (and what a view renders
itself), so an odd ``Accept`` never turns into a 406.
"""

from __future__ import annotations

from django.http import HttpResponseBase
from django.http.request import HttpHeaders
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from dataproc_site.observability import context


class JsonOnlyNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return (renderers[0], renderers[0].media_type)


def request_context(request: Request) -> context.TraceContext:
    """The ids the request middleware bound, or (a view called without it) the headers' own."""
    return context.current() or context.context_from_headers(HttpHeaders(request.META))


class ApiView(APIView):
    renderer_classes = [JSONRenderer]
    parser_classes: list = []
    content_negotiation_class = JsonOnlyNegotiation
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Before authentication, so even a 401 carries the id.
        trace = request_context(request)
        request.request_id = trace.request_id
        request.traceparent = context.traceparent(trace)
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
