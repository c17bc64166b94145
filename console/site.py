"""The default admin site plus the console's pages and its entry in the app list."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, reverse


class ConsoleAdminSite(admin.AdminSite):
    """``AdminSite`` whose URLs and app list also carry the staff console.

    Console views are wrapped in ``admin_view``: the admin's own staff check and
    login redirect come first, then each view checks tenant access itself.
    """

    site_header = "dataproc administration"
    site_title = "dataproc admin"
    index_title = "Site administration"

    def get_urls(self) -> list[URLPattern]:
        from console.urls import console_urlpatterns

        return console_urlpatterns(self) + super().get_urls()

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """Put the console first on the index and in the navigation sidebar, for every staff user."""
        app_list = super().get_app_list(request, app_label)
        if app_label is None and request.user.is_active and request.user.is_staff:
            app_list.insert(0, self._console_app(request))
        return app_list

    def _console_app(self, request: HttpRequest) -> dict:
        index_url = reverse(f"{self.name}:console_index", current_app=self.name)
        overview_url = reverse(f"{self.name}:console_overview", current_app=self.name)
        dead_letters_url = reverse(f"{self.name}:console_dead_letters", current_app=self.name)
        entries = [("Overview", "overview", overview_url), ("Dead letters", "deadletters", dead_letters_url)]
        return {
            "name": "Log console",
            "app_label": "console",
            "app_url": index_url,
            "has_module_perms": True,
            "models": [
                {
                    "name": name,
                    "object_name": object_name,
                    "perms": {"view": True},
                    "admin_url": url,
                    "add_url": None,
                    "view_only": True,
                }
                for name, object_name, url in entries
            ],
        }
