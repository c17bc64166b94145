"""Every error the API returns is JSON: ``{"error": code, "detail": message}``.

The API's own failures are ``ApiError`` subclasses carrying their status, code and
any headers (``Retry-After``, ``WWW-Authenticate``). ``json_exception_handler``
(REST_FRAMEWORK["EXCEPTION_HANDLER"]) renders those and DRF's own exceptions in the
same shape, and the ``page_not_found`` / ``server_error`` / ``bad_request`` /
``permission_denied`` handlers do it for requests that never reach a DRF view.
The admin keeps Django's HTML pages.
"""

from __future__ import annotations

import json
import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

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


class ApiError(exceptions.APIException):
    """An API failure with a stable machine-readable ``code`` and optional headers."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_request"
    default_detail = "The request is invalid."

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.default_detail, self.code)
        self.headers = dict(headers or {})


class InvalidRequest(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_request"
    default_detail = "The request is malformed or invalid."


class NotAuthenticated(ApiError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "not_authenticated"
    default_detail = "An API key is required: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="dataproc"'})


class Forbidden(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    default_detail = "This key may not act for that tenant."


class NotFound(ApiError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"
    default_detail = "The request body is too large."


class UnsupportedMediaType(ApiError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    default_detail = "Unsupported content type."


class RateLimited(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "rate_limited"
    default_detail = "The tenant is over its request rate."

    def __init__(self, detail: str | None = None, *, retry_after: float) -> None:
        super().__init__(detail, headers={"Retry-After": retry_after_value(retry_after)})


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"
    default_detail = "The service cannot take requests right now; retry later."

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None) -> None:
        seconds = settings.INGEST_RETRY_AFTER_SECONDS if retry_after is None else retry_after
        super().__init__(detail, headers={"Retry-After": retry_after_value(seconds)})


def retry_after_value(seconds: float) -> str:
    """``Retry-After`` takes whole seconds; never tell a client to retry at once."""
    return str(max(1, math.ceil(seconds)))


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


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


def json_error_response(status_code: int, code: str, detail: str) -> HttpResponse:
    return HttpResponse(
        json.dumps(error_body(code, detail)),
        status=status_code,
        content_type="application/json",
    )


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
