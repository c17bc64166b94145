"""The admin app, with the console's site as the default ``admin.site``."""

from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` unchanged, except that ``admin.site`` also serves the console.

    Subclassing the default site (rather than mounting a second one) keeps the
    admin's login, permissions, look and every ``admin:`` URL name as they are.
    """

    default_site = "tenants.console.site.ConsoleAdminSite"
