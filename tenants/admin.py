"""Tenants and their ingest API keys as ordinary admin pages.

Superusers manage every tenant; other staff see (with the model permissions
Django requires) only the tenants they are assigned to, the same rule as the
console. An API key's plaintext exists only at creation: it is shown once, in a
message, and only its hash is stored.

Retention (``retention_days``, ``original_text_retention_days``) is edited on the
tenant's page; the next sweep (``manage.py expire_logs``) applies it to records
written from then on. Deleting a tenant erases its logs from the log store first
(``tenants.lifecycle``), with the count in the confirmation page and the history.

Admin logins locked out by django-axes (settings: "Admin login") are logged here,
with the username and client address axes' own masked log line leaves out.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.signals import user_locked_out
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, DELETION, LogEntry
from django.db.models import Count, Q, QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from tenants.auth import forget_keys, forget_tenants
from tenants.lifecycle import erase_all_logs_of
from tenants.models import Tenant, TenantAPIKey
from tenants.stores import get_store

logger = logging.getLogger(__name__)

# The library registers its generic APIKey model; dataproc only uses per-tenant keys.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


def tenants_visible_to(request: HttpRequest, tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    if request.user.is_superuser:
        return tenants
    return tenants.filter(staff=request.user)


def issue_key(tenant: Tenant, *, issued_by: str) -> tuple[TenantAPIKey, str]:
    """A new key for ``tenant``; returns the row and the plaintext (never stored)."""
    name = f"issued {timezone.now():%Y-%m-%d %H:%M} by {issued_by}"
    return TenantAPIKey.objects.create_key(name=name[:50], tenant=tenant)


def key_message(tenant: Tenant, plaintext: str) -> str:
    return (
        f"New API key for {tenant.id}: {plaintext} — copy it now and send it as "
        "'Authorization: Bearer <key>' (or 'X-API-Key: <key>'); it is not stored and will not be shown again."
    )


class TenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = (
            "id",
            "name",
            "active",
            "rate_limit_per_minute",
            "retention_days",
            "original_text_retention_days",
            "staff",
        )

    def clean_retention_days(self) -> int | None:
        days = self.cleaned_data.get("retention_days")
        if days == 0:
            raise forms.ValidationError("Keep logs at least 1 day, or leave this empty to keep them.")
        return days


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = (
        "id",
        "name",
        "active",
        "rate_limit_per_minute",
        "retention_days",
        "original_text_retention_days",
        "active_keys",
        "console_link",
    )
    list_filter = ("active",)
    search_fields = ("id", "name")
    filter_horizontal = ("staff",)
    ordering = ("id",)
    actions = ("issue_api_key", "deactivate", "activate")
    fieldsets = (
        (None, {"fields": ("id", "name", "active", "rate_limit_per_minute")}),
        (
            "Retention",
            {
                "fields": ("retention_days", "original_text_retention_days"),
                "description": "Counted from when a log was received; applies to logs stored from now on. "
                "The retention sweep (hourly) deletes expired logs and clears expired original text.",
            },
        ),
        ("Console access", {"fields": ("staff",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        tenants = (
            super()
            .get_queryset(request)
            .annotate(_active_keys=Count("api_keys", filter=Q(api_keys__revoked=False), distinct=True))
        )
        return tenants_visible_to(request, tenants)

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> tuple[str, ...]:
        readonly: tuple[str, ...] = ("id",) if obj is not None else ()
        if not request.user.is_superuser:
            # Who sees which tenant is a superuser's decision.
            readonly += ("staff",)
        return readonly

    @admin.display(description="active keys", ordering="_active_keys")
    def active_keys(self, tenant: Tenant) -> int:
        return tenant._active_keys

    @admin.display(description="console")
    def console_link(self, tenant: Tenant) -> str:
        return format_html('<a href="{}">logs</a>', reverse("admin:console_tenant_logs", args=[tenant.id]))

    @admin.action(description="Issue a new API key for the selected tenants", permissions=["add_key"])
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            api_key, plaintext = issue_key(tenant, issued_by=request.user.get_username())
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=[api_key],
                action_flag=ADDITION,
                change_message=f"Issued API key {api_key.prefix} for tenant {tenant.id}.",
                single_object=True,
            )
            messages.warning(request, key_message(tenant, plaintext))

    def has_add_key_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tenants.add_tenantapikey")

    @admin.action(description="Deactivate the selected tenants (ingest refuses them)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        updated = self._update_tenants(queryset, active=False)
        messages.success(request, f"Deactivated {updated} tenant(s).")

    @admin.action(description="Activate the selected tenants", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        updated = self._update_tenants(queryset, active=True)
        messages.success(request, f"Activated {updated} tenant(s).")

    # -- deleting a tenant erases its logs ---------------------------------------------

    def get_deleted_objects(self, objs, request: HttpRequest):
        """The confirmation page lists the logs that go too (the store's counts: no scan)."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        store = get_store()
        logs = sum(sum(store.counts(tenant.pk).values()) for tenant in objs)
        if logs:
            deleted.append(
                f"All {logs} log(s) of {'these tenants' if len(objs) > 1 else 'this tenant'} in the log store"
            )
            model_count["logs in the log store"] = logs
        return deleted, model_count, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Tenant) -> None:
        self._erase_logs_of(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._erase_logs_of(request, list(queryset))
        super().delete_queryset(request, queryset)

    @staticmethod
    def _erase_logs_of(request: HttpRequest, tenants: list[Tenant]) -> None:
        """Before the rows go (the pre_delete hook then finds nothing left), so the count is known."""
        store = get_store()
        for tenant in tenants:
            erased = erase_all_logs_of(tenant.pk, store)
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=[tenant],
                action_flag=DELETION,
                change_message=f"Erased all {erased} log(s) of tenant {tenant.pk} with the tenant.",
                single_object=True,
            )

    @staticmethod
    def _update_tenants(queryset: QuerySet[Tenant], **changes: Any) -> int:
        """``update()`` sends no post_save: this process's ingest would trust its cache for a while."""
        tenant_ids = list(queryset.values_list("pk", flat=True))
        updated = queryset.update(**changes)
        forget_tenants(tenant_ids)
        return updated


@admin.register(TenantAPIKey)
class TenantAPIKeyAdmin(APIKeyModelAdmin):
    """Add a key here (its plaintext is shown once after saving) or revoke one with its flag."""

    list_display = ("prefix", "name", "tenant", "created", "expiry_date", "_has_expired", "revoked")
    # Only tenants whose keys this user may see (the plain "tenant" filter lists every tenant).
    list_filter = ("revoked", ("tenant", admin.RelatedOnlyFieldListFilter), "created")
    search_fields = ("name", "prefix", "tenant__id", "tenant__name")
    list_select_related = ("tenant",)
    actions = ("revoke",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TenantAPIKey]:
        keys = super().get_queryset(request)
        if request.user.is_superuser:
            return keys
        return keys.filter(tenant__staff=request.user)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = tenants_visible_to(request, Tenant.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[TenantAPIKey]) -> None:
        updated = queryset.filter(revoked=False).update(revoked=True)
        # update() sends no post_save: without this, this process would accept them for a while.
        forget_keys()
        messages.success(request, f"Revoked {updated} key(s): they no longer authenticate.")


@receiver(user_locked_out, dispatch_uid="tenants.admin.login_locked_out")
def _log_locked_out_login(
    sender: Any, request: HttpRequest, username: str, ip_address: str, **kwargs
) -> None:
    logger.warning(
        "admin login refused: locked out after repeated failures",
        extra={"username": username, "client_ip": ip_address, "path": request.path},
    )
