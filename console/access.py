"""Who may see which tenant: the one access rule every console view and action goes through.

Superusers see every tenant; other active staff see the tenants they are assigned
to (``Tenant.staff``); nobody else sees any. A tenant someone may not see is
answered with 404, exactly like a tenant that does not exist, so a URL never
reveals whether another tenant exists. A tenant's redaction policy page also needs
``tenants.edit_redaction_policy`` (``require_policy_editor``: 403 without it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from core.identifiers import identifier_error
from tenants.models import Tenant

VIEW_ORIGINAL_TEXT_PERMISSION = "tenants.view_original_text"
EDIT_REDACTION_POLICY_PERMISSION = "tenants.edit_redaction_policy"

# Erasing logs (a received-at range, or all of a tenant's) from the console.
ERASE_LOGS_PERMISSION = "tenants.delete_storedlog"


@dataclass
class ConsoleAccess:
    """One user's view of the console, built once per request."""

    user: AbstractBaseUser | AnonymousUser

    @property
    def is_staff(self) -> bool:
        return bool(self.user.is_active and self.user.is_staff)

    @property
    def sees_every_tenant(self) -> bool:
        return self.is_staff and bool(self.user.is_superuser)

    @cached_property
    def can_view_original_text(self) -> bool:
        return self.is_staff and self.user.has_perm(VIEW_ORIGINAL_TEXT_PERMISSION)

    @cached_property
    def can_edit_redaction_policy(self) -> bool:
        return self.is_staff and self.user.has_perm(EDIT_REDACTION_POLICY_PERMISSION)

    @cached_property
    def can_erase_logs(self) -> bool:
        """Erasure needs the model's delete permission on top of seeing the tenant."""
        return self.is_staff and self.user.has_perm(ERASE_LOGS_PERMISSION)

    @cached_property
    def assigned_tenants(self) -> dict[str, Tenant]:
        """Tenant rows this user may see, by id (every row for a superuser); one query."""
        if not self.is_staff:
            return {}
        tenants = Tenant.objects.all() if self.sees_every_tenant else self.user.assigned_tenants.all()
        return {tenant.id: tenant for tenant in tenants.order_by("id")}

    def visible_tenant_ids(self) -> list[str] | None:
        """Ids to restrict store queries to; None means every tenant (superusers)."""
        if self.sees_every_tenant:
            return None
        return list(self.assigned_tenants)

    def can_see(self, tenant_id: str) -> bool:
        if self.sees_every_tenant:
            # Also tenants that only exist in the store (records without a Tenant row).
            return identifier_error(tenant_id, "tenant_id") is None
        return tenant_id in self.assigned_tenants

    def require_tenant(self, tenant_id: str) -> None:
        """Raise 404 unless this user may see ``tenant_id``."""
        if not self.can_see(tenant_id):
            raise Http404("No such tenant.")

    def require_policy_editor(self, tenant_id: str) -> None:
        """404 unless this user may see ``tenant_id``; then 403 without the redaction-policy permission."""
        self.require_tenant(tenant_id)
        if not self.can_edit_redaction_policy:
            raise PermissionDenied("Changing a redaction policy needs the “Can change and test” permission.")

    def tenant_label(self, tenant_id: str) -> str:
        tenant = self.assigned_tenants.get(tenant_id)
        return str(tenant) if tenant is not None else tenant_id
