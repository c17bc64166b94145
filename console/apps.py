"""The staff console: its own app (demo data command, templates) and the admin app serving it."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsoleConfig(AppConfig):
    """The console's pages, forms and ``seed_demo``; the views are mounted on ``admin.site``."""

    default = True
    name = "console"
    verbose_name = "Log console"


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` unchanged, except that ``admin.site`` also serves the console.

    Subclassing the default site (rather than mounting a second one) keeps the
    admin's login, permissions, look and every ``admin:`` URL name as they are.
    """

    default = False
    default_site = "console.site.ConsoleAdminSite"
