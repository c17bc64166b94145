"""The console's page of intake rejections (admin: Ingest > Intake rejections), read-only.

Each tenant's page in the console links here filtered to that tenant. Access
follows the console's rule: superusers see every tenant, other staff the tenants
assigned to them (``Tenant.staff``), nobody else anything; no model permission is
needed, and nobody can add, change or delete rows (the intake writes them).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ingest.models import IntakeRejection


@admin.register(IntakeRejection)
class IntakeRejectionAdmin(admin.ModelAdmin):
    list_display = ("hour", "tenant_id", "reason", "source", "count", "last_at")
    list_filter = ("reason", "source", "tenant_id")
    search_fields = ("tenant_id",)
    date_hierarchy = "hour"
    ordering = ("-hour", "tenant_id", "reason")
    list_per_page = 100
    readonly_fields = ("tenant_id", "source", "reason", "hour", "count", "first_at", "last_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[IntakeRejection]:
        rows = super().get_queryset(request)
        user = request.user
        if not (user.is_active and user.is_staff):
            return rows.none()
        if user.is_superuser:
            return rows
        return rows.filter(tenant_id__in=user.assigned_tenants.values("id"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: IntakeRejection | None = None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: IntakeRejection | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: IntakeRejection | None = None) -> bool:
        return False
