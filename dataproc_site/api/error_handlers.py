"""Every error the API answers is JSON: ``{"error": code, "detail": message}``.

``json_exception_handler`` (REST_FRAMEWORK["EXCEPTION_HANDLER"]) renders the API's
own ``ApiError`` failures and DRF's exceptions in that shape, and the
``page_not_found`` / ``server_error`` / ``bad_request`` / ``permission_denied``
handlers (the root URLconf's handler400-500) do it for requests that never reach
a DRF view. The admin and the API docs keep Django's HTML pages.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    error_body,
    json_error_response,
    retry_after_value,
)

logger = logging.getLogger(__name__)

# Codes for DRF's built-in exceptions, in the API's vocabulary.
_CODES_BY_STATUS = {
    400: "invalid_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def _detail_text(detail: object) -> str:
    """DRF details can be nested lists and dicts (validation errors); flatten them to one line."""
    if isinstance(detail, dict):
        return "; ".join(f"{field}: {_detail_text(value)}" for field, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_detail_text(item) for item in detail)
    return str(detail)


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return Forbidden("Permission denied.")
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        return InvalidRequest("The request was refused as suspicious.")
    return None


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: every handled error as ``{"error", "detail"}``.

    Returns None for anything else, which Django then turns into a 500 (JSON for
    the API through ``server_error``): that is a bug of ours, not a client error.
    """
    api_exception = _as_api_exception(exc)
    if api_exception is None:
        return None
    headers: dict[str, str] = {}
    if isinstance(api_exception, ApiError):
        code = api_exception.code
        headers.update(api_exception.headers)
    else:
        code = _CODES_BY_STATUS.get(api_exception.status_code, "error")
        if isinstance(api_exception, exceptions.Throttled) and api_exception.wait is not None:
            headers["Retry-After"] = retry_after_value(api_exception.wait)
        auth_header = getattr(api_exception, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
    set_rollback()
    return Response(
        error_body(code, _detail_text(api_exception.detail)),
        status=api_exception.status_code,
        headers=headers,
    )


# -- Django's own error handlers (requests that never reach a DRF view) ---------------


def _wants_html(request: HttpRequest) -> bool:
    """The admin and the API docs are HTML pages; everything else is the JSON API."""
    return request.path.startswith(("/admin/", "/api/docs/"))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_html(request):
        return defaults.page_not_found(request, exception)
    return json_error_response(404, "not_found", f"No such resource: {request.path}")


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_html(request):
        return defaults.server_error(request)
    return json_error_response(500, "internal_error", "An internal error occurred; it has been logged.")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_html(request):
        return defaults.bad_request(request, exception)
    return json_error_response(400, "invalid_request", "The request is malformed.")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_html(request):
        return defaults.permission_denied(request, exception)
    return json_error_response(403, "forbidden", "Permission denied.")
