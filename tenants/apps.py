"""Tenants, API keys, their policies, and the log stores."""

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_delete, post_save, pre_delete


def _known_tenant_ids(limit: int) -> list[str]:
    from tenants.models import Tenant

    return list(Tenant.objects.order_by("id").values_list("id", flat=True)[:limit])


def _forget_tenant_labels(**kwargs) -> None:
    from dataproc_site.observability.tenant_labels import tenant_labels

    tenant_labels.invalidate()


def _erase_logs_of_deleted_tenant(sender, instance, **kwargs) -> None:
    """However a tenant is deleted (admin, shell, a cascade), its logs go first.

    A store that cannot be reached raises, which rolls the deletion back: a tenant
    row never disappears while its logs stay behind.
    """
    from tenants.lifecycle import erase_all_logs_of
    from tenants.stores import get_store

    erase_all_logs_of(instance.pk, get_store())


def check_open_mode(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Open ingest (no API keys) must not reach production by accident: fail at start-up."""
    from django.conf import settings

    if settings.INGEST_AUTH != "open" or settings.DEBUG or settings.INGEST_ALLOW_OPEN_WITHOUT_DEBUG:
        return []
    return [
        checks.Error(
            "INGEST_AUTH=open without DJANGO_DEBUG: anyone could write logs as any tenant, "
            "and every new tenant id would be registered.",
            hint=(
                "Use INGEST_AUTH=api_key. For a deliberate public test, set "
                "INGEST_ALLOW_OPEN_WITHOUT_DEBUG=1; open mode then registers at most "
                "INGEST_OPEN_MAX_TENANTS tenants."
            ),
            id="tenants.E001",
        )
    ]


def check_open_mode_deployed(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``check --deploy`` still says so when open ingest is deployed on purpose."""
    from django.conf import settings

    if settings.INGEST_AUTH != "open" or settings.DEBUG or not settings.INGEST_ALLOW_OPEN_WITHOUT_DEBUG:
        return []
    return [
        checks.Warning(
            "INGEST_AUTH=open is deployed on purpose (INGEST_ALLOW_OPEN_WITHOUT_DEBUG=1): no API key "
            f"is needed, and up to INGEST_OPEN_MAX_TENANTS={settings.INGEST_OPEN_MAX_TENANTS} "
            "tenants are registered on first sight.",
            hint="Switch to INGEST_AUTH=api_key once the public test is over.",
            id="tenants.W001",
        )
    ]


class TenantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tenants"

    def ready(self) -> None:
        from dataproc_site.observability.tenant_labels import tenant_labels
        from tenants.stores import stores

        stores.register()
        tenant_labels.set_source(_known_tenant_ids)
        for signal in (post_save, post_delete):
            signal.connect(
                _forget_tenant_labels, sender="tenants.Tenant", dispatch_uid=f"tenant-labels-{signal}"
            )
        pre_delete.connect(
            _erase_logs_of_deleted_tenant,
            sender="tenants.Tenant",
            dispatch_uid="tenants.erase-deleted-tenant",
        )
        checks.register(check_open_mode, checks.Tags.security)
        checks.register(check_open_mode_deployed, checks.Tags.security, deploy=True)
