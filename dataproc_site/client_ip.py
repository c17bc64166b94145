"""The client's address behind the proxies in front of us, from the right ``X-Forwarded-For`` hop.

Each proxy that forwards a request appends the address it received it from to
``X-Forwarded-For``; whatever stands before those entries was written by the
client and can be anything. So the client is the entry ``TRUSTED_PROXY_COUNT``
places from the right, never the left-most one (a client would choose its own
address, and rotate it to escape a lockout):

- ``1`` on Cloud Run (the default without DEBUG): Google's front end appends the
  address that connected to it, and is the only hop in front of the container;
- one more for each proxy in front of it that appends its own peer (a load
  balancer, a CDN), after checking what it writes;
- ``0`` when nothing is in front (``make run``, the default with DEBUG): the
  peer itself, ``REMOTE_ADDR``.

A request with fewer entries than that did not come through the proxies (a
probe on the container's own port): its peer address is used.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as the last trusted proxy saw it (``AXES_CLIENT_IP_CALLABLE``)."""
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < trusted:
        return peer
    return _address(hops[-trusted]) or peer


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None
