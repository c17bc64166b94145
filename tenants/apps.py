"""Tenants, API keys, their policies, and the log stores."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _known_tenant_ids(limit: int) -> list[str]:
    from tenants.models import Tenant

    return list(Tenant.objects.order_by("id").values_list("id", flat=True)[:limit])


def _forget_tenant_labels(**kwargs) -> None:
    from dataproc_site.observability.tenant_labels import tenant_labels

    tenant_labels.invalidate()


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
