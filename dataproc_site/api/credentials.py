"""Credentials in request headers, parsed one way for every route that takes them."""

from __future__ import annotations

from collections.abc import Mapping


def bearer_token(meta: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive), or None."""
    scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
