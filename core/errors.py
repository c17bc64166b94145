"""The API's failures: ``ApiError`` subclasses carrying their status, code and headers.

Every error the API returns is JSON, ``{"error": code, "detail": message}``
(``error_body``); ``dataproc_site.api.error_handlers`` renders these, DRF's own
exceptions and Django's error pages in that one shape. Any layer may raise them
(tenant authentication raises ``NotAuthenticated``), so they live at the ground.
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions, status


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


def json_error_response(
    status_code: int, code: str, detail: str, *, retry_after: float | None = None
) -> HttpResponse:
    """The error body for plain Django views (push endpoint, metrics, error pages)."""
    response = HttpResponse(
        json.dumps(error_body(code, detail)), status=status_code, content_type="application/json"
    )
    if retry_after is not None:
        response["Retry-After"] = retry_after_value(retry_after)
    return response
