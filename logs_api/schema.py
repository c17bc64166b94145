"""The read API's schema follows the running configuration."""

from __future__ import annotations

from django.conf import settings


def require_tenant_header_in_open_mode(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: under ``INGEST_AUTH=open`` the read API needs X-Tenant-ID.

    With API keys the key names the tenant and the header is optional; the schema
    describes the running configuration, like the security requirements do.
    """
    if settings.INGEST_AUTH != "open":
        return result
    for route, operations in result.get("paths", {}).items():
        if not route.startswith("/logs"):
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter.get("name") == "X-Tenant-ID":
                    parameter["required"] = True
    return result
