"""IP addresses (off by default: for tenants who treat them as personal data).

IPv4 in dotted quads of 0-255 (``203.0.113.7``), IPv6 in any notation the ``ipaddress``
module accepts (``2001:db8::1``, ``::ffff:192.0.2.1``). Times (``12:30:45``) and MAC
addresses look like IPv6 candidates to the scanner and are dropped here cheaply, before
``ipaddress`` is asked.
"""

from __future__ import annotations

import ipaddress

from processing.redaction.spans import Hit

IP = "ip"


def ipv4_at(text: str, start: int, end: int, hits: list[Hit]) -> None:
    octets = text[start:end].split(".")
    if all(len(octet) <= 3 and int(octet) <= 255 for octet in octets):
        hits.append(Hit(start, end, IP, ".".join(str(int(octet)) for octet in octets)))


def ipv6_at(text: str, start: int, end: int, hits: list[Hit]) -> None:
    candidate = text[start:end]
    if (
        "::" not in candidate
        and candidate.count(":") != 7
        and not (candidate.count(":") == 6 and "." in candidate)
    ):
        return
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return
    hits.append(Hit(start, end, IP, address.compressed))
