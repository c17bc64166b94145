"""The OIDC token Pub/Sub signs for every push delivery, verified by google-auth.

``google.oauth2.id_token.verify_oauth2_token`` checks the signature against
Google's published certificates, the audience (``PUBSUB_PUSH_AUDIENCE``), the
issuer and the expiry; this module then requires the ``email`` claim to be the
subscription's service account (``PUBSUB_PUSH_SERVICE_ACCOUNT``), verified. The
certificates are fetched through a CacheControl session, as Google recommends: one
fetch per process while their ``Cache-Control: max-age`` lasts (Google publishes a
new key well before signing with it).
"""

from __future__ import annotations

import logging
import threading

import cachecontrol
import requests
from django.conf import settings
from google.auth import exceptions as auth_exceptions
from google.auth.transport import requests as google_requests
from google.oauth2 import id_token

from dataproc_site.api.credentials import bearer_token

logger = logging.getLogger(__name__)

CLOCK_SKEW_SECONDS = 30

_session_lock = threading.Lock()
_session: requests.Session | None = None


class PushRefused(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def certificate_transport() -> google_requests.Request:
    """The transport google-auth fetches certificates with: one caching session per process."""
    global _session
    with _session_lock:
        if _session is None:
            _session = cachecontrol.CacheControl(requests.Session())
        return google_requests.Request(session=_session)


def verify_push_token(meta) -> dict:
    """The verified claims of the request's ``Authorization: Bearer <token>``, or PushRefused."""
    token = bearer_token(meta)
    if token is None:
        raise PushRefused(401, "not_authenticated", "A Bearer OIDC token is required.")
    try:
        claims = id_token.verify_oauth2_token(
            token,
            certificate_transport(),
            audience=settings.PUBSUB_PUSH_AUDIENCE,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except auth_exceptions.TransportError as exc:
        logger.error("cannot fetch the push token certificates", extra={"reason": str(exc)})
        raise PushRefused(503, "unavailable", "Token certificates unavailable; retry later.") from exc
    except (ValueError, auth_exceptions.GoogleAuthError) as exc:
        raise PushRefused(401, "invalid_token", "The token does not verify.") from exc
    expected = settings.PUBSUB_PUSH_SERVICE_ACCOUNT
    if not expected:
        logger.error("PUBSUB_PUSH_SERVICE_ACCOUNT is not set: every push delivery is refused")
        raise PushRefused(403, "forbidden", "No push service account is configured.")
    if claims.get("email") != expected or claims.get("email_verified") is not True:
        raise PushRefused(403, "forbidden", "The token is not for the push service account.")
    return claims
