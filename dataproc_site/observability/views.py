"""``/metrics`` on the API, never public by default.

With METRICS_TOKEN set, a scrape must send ``Authorization: Bearer <token>``
(Prometheus ``authorization`` / ``bearer_token_file``). Without one, only clients
whose address is in METRICS_ALLOWED_NETWORKS may scrape; that list holds loopback
when DEBUG is on and nothing otherwise, so production without a token refuses
everyone. Only REMOTE_ADDR counts: X-Forwarded-For is whatever the client wrote.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from core.errors import json_error_response
from dataproc_site.api.credentials import bearer_token
from dataproc_site.observability import exposition

logger = logging.getLogger(__name__)


def _refuse(status: int, code: str, detail: str) -> HttpResponse:
    response = json_error_response(status, code, detail)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _address_allowed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    if client.version == 6 and client.ipv4_mapped:
        client = client.ipv4_mapped
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            if client in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def access_refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request may not scrape, as a response; None when it may."""
    token = settings.METRICS_TOKEN
    if token:
        offered = bearer_token(request.META)
        if offered is None:
            return _refuse(401, "unauthorized", "Send Authorization: Bearer <METRICS_TOKEN>.")
        if not hmac.compare_digest(offered.encode(), token.encode()):
            return _refuse(403, "forbidden", "Wrong metrics token.")
        return None
    if _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return None
    return _refuse(403, "forbidden", "Metrics are served to METRICS_ALLOWED_NETWORKS or with METRICS_TOKEN.")


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = access_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(exposition.render(), content_type=exposition.CONTENT_TYPE)
