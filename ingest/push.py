"""``POST /pubsub/push``: Pub/Sub push deliveries, for running the worker at zero scale.

A push subscription POSTs each message to this endpoint with an OIDC token
signed by Google for the subscription's service account. The token is verified
(signature against Google's published certificates, audience
``PUBSUB_PUSH_AUDIENCE``, issuer, ``email`` = ``PUBSUB_PUSH_SERVICE_ACCOUNT``,
``email_verified``); anything else is refused with 401/403 before the body is read.
The message then goes through ``processing.worker.decide``, the very rules of
``run_worker``:

- ack -> 204, which Pub/Sub takes as the acknowledgement;
- dead letter -> the envelope is published to the dead-letter topic here, then 204;
- retry -> 503 with ``Retry-After``: Pub/Sub redelivers with the subscription's
  retry policy (push deliveries ignore ``Retry-After``; the header is for humans).

Limit: the response must come back within the subscription's ack deadline (at
most 600 s) or Pub/Sub redelivers the message while it is still being worked on.
At the specified 0.05 s per character that is about 12,000 characters; longer
logs need the pull worker (``run_worker``). The endpoint is off (404) unless
``PUBSUB_PUSH_AUDIENCE`` is set.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from datetime import datetime

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.auth import exceptions as auth_exceptions
from google.auth import jwt

from core.envelope import LogEnvelope
from dataproc_site.observability import context
from processing.queues import QueueUnavailable, ReceivedMessage, get_queue
from processing.queues.pubsub import PubSubQueue, decode_envelope
from processing.worker import ACK, DEAD_LETTER, decide

logger = logging.getLogger(__name__)

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
# Google's OAuth2 signing certificates (PEM, keyed by key id): what signs push tokens.
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
CERTS_FETCH_TIMEOUT_SECONDS = 5.0
DEFAULT_CERTS_MAX_AGE_SECONDS = 3600.0
CLOCK_SKEW_SECONDS = 30
MIN_REFRESH_INTERVAL_SECONDS = 60.0


class PushRefused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


# -- Google's certificates, cached per process ------------------------------------

_certs_lock = threading.Lock()
_certs_cache: tuple[float, Mapping[str, str]] | None = None
_last_refresh = float("-inf")


def _max_age(cache_control: str) -> float:
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return float(value)
    return DEFAULT_CERTS_MAX_AGE_SECONDS


def fetch_google_certs() -> Mapping[str, str]:
    """Google's current signing certificates, cached as long as Google's Cache-Control allows."""
    global _certs_cache
    with _certs_lock:
        if _certs_cache is not None and _certs_cache[0] > time.monotonic():
            return _certs_cache[1]
        response = requests.get(GOOGLE_CERTS_URL, timeout=CERTS_FETCH_TIMEOUT_SECONDS)
        response.raise_for_status()
        certs = response.json()
        _certs_cache = (time.monotonic() + _max_age(response.headers.get("Cache-Control", "")), certs)
        return certs


def refresh_google_certs() -> None:
    """Forget the cached certificates (a token names a key id not seen yet: Google rotated).

    At most once a minute, so tokens with made-up key ids cannot make every request fetch.
    """
    global _certs_cache, _last_refresh
    with _certs_lock:
        if time.monotonic() - _last_refresh < MIN_REFRESH_INTERVAL_SECONDS:
            return
        _last_refresh = time.monotonic()
        _certs_cache = None


# Where verification gets its certificates: module-level hooks, so tests verify
# real signatures made with a locally generated key instead of Google's.
certificate_source = fetch_google_certs
certificate_refresh = refresh_google_certs


def _certificates_for(token: str) -> Mapping[str, str]:
    certs = certificate_source()
    try:
        key_id = jwt.decode_header(token).get("kid")
    except (ValueError, TypeError, auth_exceptions.GoogleAuthError):
        return certs  # malformed: decoding will say so
    if key_id and key_id not in certs:
        certificate_refresh()
        certs = certificate_source()
    return certs


def verify_push_token(authorization: str) -> dict:
    """The verified claims of ``Authorization: Bearer <token>``, or PushRefused."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PushRefused(401, "not_authenticated", "A Bearer OIDC token is required.")
    try:
        certs = _certificates_for(token.strip())
    except Exception as exc:
        logger.error("cannot fetch the push token certificates", extra={"reason": str(exc)})
        raise PushRefused(503, "unavailable", "Token certificates unavailable; retry later.") from exc
    try:
        claims = jwt.decode(
            token.strip(),
            certs=certs,
            audience=settings.PUBSUB_PUSH_AUDIENCE,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except (ValueError, auth_exceptions.GoogleAuthError) as exc:
        raise PushRefused(401, "invalid_token", f"The token does not verify: {exc}") from exc
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise PushRefused(401, "invalid_token", "The token was not issued by Google.")
    expected = settings.PUBSUB_PUSH_SERVICE_ACCOUNT
    if not expected:
        logger.error("PUBSUB_PUSH_SERVICE_ACCOUNT is not set: every push delivery is refused")
        raise PushRefused(403, "forbidden", "No push service account is configured.")
    if claims.get("email") != expected or claims.get("email_verified") is not True:
        raise PushRefused(403, "forbidden", "The token is not for the push service account.")
    return claims


# -- the push envelope ---------------------------------------------------------------


def _parse_push_body(raw: bytes) -> tuple[dict, int]:
    """The ``message`` object and the delivery attempt of a push request body."""
    try:
        body = json.loads(raw)
        message = body["message"]
        if not isinstance(message, dict):
            raise TypeError("message is not an object")
        message["data"] = base64.b64decode(message.get("data", ""), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PushRefused(400, "invalid_request", f"Not a Pub/Sub push envelope: {exc}") from exc
    delivery_attempt = body.get("deliveryAttempt") or message.get("deliveryAttempt") or 0
    return message, int(delivery_attempt) if str(delivery_attempt).isdigit() else 0


def _published_at(message: dict) -> datetime | None:
    value = message.get("publishTime") or message.get("publish_time")
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _error(status: int, code: str, detail: str, retry_after: float | None = None) -> JsonResponse:
    response = JsonResponse({"error": code, "detail": detail}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


@csrf_exempt
@require_POST
def pubsub_push(request: HttpRequest) -> HttpResponse:
    if not settings.PUBSUB_PUSH_AUDIENCE:
        return _error(404, "not_found", "Push delivery is not enabled.")
    try:
        verify_push_token(request.headers.get("Authorization", ""))
        message, delivery_attempt = _parse_push_body(request.body)
    except PushRefused as refused:
        if refused.status in (401, 403):
            logger.warning(
                "push delivery refused", extra={"status": refused.status, "reason": refused.detail}
            )
        return _error(refused.status, refused.code, refused.detail, 5 if refused.status == 503 else None)

    message_id = str(message.get("messageId") or message.get("message_id") or "")
    queue = get_queue()
    try:
        envelope = decode_envelope(message["data"])
    except ValueError as exc:
        return _park_undecodable(queue, message, message_id, str(exc))

    with context.bound_to_envelope(envelope):
        return _deliver(queue, envelope, message, message_id, delivery_attempt)


def _deliver(
    queue, envelope: LogEnvelope, message: dict, message_id: str, delivery_attempt: int
) -> HttpResponse:
    fields = {"tenant_id": envelope.tenant_id, "log_id": envelope.log_id, "message_id": message_id}
    try:
        outcome = decide(envelope, message_id=message_id, delivery_attempt=delivery_attempt)
        if outcome.action == DEAD_LETTER:
            queue.dead_letter(
                ReceivedMessage(
                    message_id=message_id,
                    envelope=envelope,
                    delivery_attempt=delivery_attempt,
                    published_at=_published_at(message),
                    lease=None,  # answering 2xx is the ack
                )
            )
    except QueueUnavailable as exc:
        logger.warning("push: dead-letter topic unavailable; Pub/Sub will redeliver", extra=fields)
        return _error(503, "unavailable", f"The dead-letter topic is unavailable: {exc}", 5)
    except Exception:
        logger.exception("push delivery failed unexpectedly; Pub/Sub will redeliver", extra=fields)
        return _error(503, "unavailable", "Processing failed unexpectedly; redeliver later.", 5)
    fields |= {"outcome": outcome.action, "status": outcome.status, "attempts": outcome.attempts}
    if outcome.action in (ACK, DEAD_LETTER):
        logger.info("push delivery handled", extra=fields)
        return HttpResponse(status=204)
    logger.warning("push delivery to be retried", extra=fields | {"delay_seconds": outcome.delay_seconds})
    return _error(503, "retry", "Not processed this time; redeliver later.", outcome.delay_seconds)


def _park_undecodable(queue, message: dict, message_id: str, reason: str) -> HttpResponse:
    """A payload that is not an envelope can never succeed: keep it on the dead-letter topic, ack it."""
    attributes = {str(key): str(value) for key, value in (message.get("attributes") or {}).items()}
    if isinstance(queue, PubSubQueue):
        try:
            queue.park_undecodable(message["data"], attributes, message_id, reason)
        except QueueUnavailable as exc:
            return _error(503, "unavailable", f"The dead-letter topic is unavailable: {exc}", 5)
    logger.error(
        "push: undecodable message dead-lettered", extra={"message_id": message_id, "reason": reason}
    )
    return HttpResponse(status=204)
