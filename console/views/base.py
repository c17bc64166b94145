"""What every console view shares: the access check, the admin context, store outages."""

from __future__ import annotations

import logging

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from console.access import ConsoleAccess
from tenants.stores import StoreUnavailable

logger = logging.getLogger(__name__)


class ConsoleView(View):
    """A page of the console inside the admin site ``site``.

    The admin's ``admin_view`` wrapper already sends anonymous and non-staff users
    to the login page; the staff check here is repeated so a view can never be
    mounted without it. Tenant checks are each view's job, via ``self.access``.
    """

    site: admin.AdminSite = admin.site
    template_name = ""
    http_method_names = ["get", "head"]

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.access = ConsoleAccess(request.user)
        if not self.access.is_staff:
            raise PermissionDenied
        try:
            return super().dispatch(request, *args, **kwargs)
        except StoreUnavailable as exc:
            logger.warning("console page without its log store: %s", exc)
            return self.render(
                {"title": "Log store unavailable", "error": str(exc)},
                template_name="console/unavailable.html",
                status=503,
            )

    def render(
        self, context: dict, *, template_name: str | None = None, status: int = 200
    ) -> TemplateResponse:
        full_context = {
            **self.site.each_context(self.request),
            "access": self.access,
            "can_view_original_text": self.access.can_view_original_text,
            **context,
        }
        template_name = template_name or self.template_name
        return TemplateResponse(self.request, template_name, full_context, status=status)

    def safe_next(self, candidate: str | None, default: str) -> str:
        """``candidate`` if it is a URL on this site, else ``default`` (no open redirects)."""
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={self.request.get_host()}, require_https=self.request.is_secure()
        ):
            return candidate
        return default
