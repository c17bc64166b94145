"""Who may act for a tenant: API keys, tenant policies, and their in-process caches.

The ingest hot path must not query the database for every request, so what it
needs about a tenant (active? rate?) and about a presented key (which tenant?) is
kept in small per-process caches for ``INGEST_AUTH_CACHE_SECONDS``. Saving or
deleting a Tenant or TenantAPIKey clears the entries of this process at once
(bulk updates, which send no signal, call ``forget_keys`` / ``forget_tenants``);
other processes (gunicorn workers, other instances) see the change when their
entry expires. So a deactivated tenant, a changed rate or a revoked key takes
effect within that many seconds everywhere. Unknown keys and unknown tenants are
never cached, so a new key or tenant works at once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.errors import Forbidden, NotAuthenticated
from dataproc_site.api.credentials import bearer_token
from dataproc_site.transactions import write_transaction
from tenants.models import Tenant, TenantAPIKey

logger = logging.getLogger(__name__)

AUTH_OPEN = "open"
AUTH_API_KEY = "api_key"
# Keys look like "<prefix>.<secret>" of ASCII letters and digits (djangorestframework-api-key);
# anything else is unknown without asking the database.
_KEY_RE = re.compile(r"[A-Za-z0-9]{1,8}\.[A-Za-z0-9]{1,128}")
_MAX_CACHED = 10_000


class TenantLimitReached(Forbidden):
    """Open mode met a new tenant with ``INGEST_OPEN_MAX_TENANTS`` tenants registered already."""


@dataclass(frozen=True)
class TenantPolicy:
    """What the API needs to know about a tenant on every request."""

    tenant_id: str
    active: bool
    rate_limit_per_minute: int
    retention_days: int | None = None
    original_text_retention_days: int | None = None


@dataclass(frozen=True)
class KeyGrant:
    """A verified API key: it may act for ``tenant_id`` (until ``expires_at``, if set)."""

    key_id: str
    tenant_id: str
    expires_at: datetime | None = None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class _TtlCache:
    """A bounded dict whose entries expire; thread-safe enough for gthread workers."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._entries.pop(key, None)
            return None
        return value

    def set(self, key: str, value: Any) -> None:
        expires = time.monotonic() + settings.INGEST_AUTH_CACHE_SECONDS
        with self._lock:
            if len(self._entries) >= _MAX_CACHED and key not in self._entries:
                # Oldest insertion first: good enough to keep the set bounded.
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[key] = (expires, value)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_tenants = _TtlCache()
_keys = _TtlCache()
# What ``_tenants`` holds for a tenant looked up with ``remember_unknown`` and not found.
_UNKNOWN_TENANT = object()


def clear_auth_caches() -> None:
    """Forget every cached tenant and key (tests; after bulk changes in a shell)."""
    _tenants.clear()
    _keys.clear()


def forget_keys() -> None:
    """Forget every cached key, after keys changed without a model signal (``QuerySet.update``)."""
    _keys.clear()


def forget_tenants(tenant_ids: Iterable[str]) -> None:
    """Forget these tenants' cached policies, after they changed without a model signal."""
    for tenant_id in tenant_ids:
        _tenants.discard(tenant_id)


def auth_mode() -> str:
    return settings.INGEST_AUTH


def _policy_of(tenant: Tenant) -> TenantPolicy:
    return TenantPolicy(
        tenant.id,
        tenant.active,
        tenant.rate_limit_per_minute,
        tenant.retention_days,
        tenant.original_text_retention_days,
    )


def tenant_policy(
    tenant_id: str, *, register: bool = False, remember_unknown: bool = False
) -> TenantPolicy | None:
    """The tenant's policy from the cache, else the database; None if unknown.

    With ``register`` an unknown tenant is created with the default rate (open mode:
    tenants are registered on first sight), while fewer than ``INGEST_OPEN_MAX_TENANTS``
    exist; past that, ``TenantLimitReached`` (403).

    With ``remember_unknown`` (the worker's per-log lookups) a tenant the registry
    does not hold is remembered as unknown for the cache time too, instead of one
    query for every one of its logs; other callers never take that answer from the
    cache (a tenant just created by another process is found at once), and a
    tenant created in this process is forgotten by its post_save.
    """
    policy = _tenants.get(tenant_id)
    if policy is _UNKNOWN_TENANT:
        if remember_unknown and not register:
            return None
    elif policy is not None:
        return policy
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        if not register:
            if remember_unknown:
                _tenants.set(tenant_id, _UNKNOWN_TENANT)
            return None
        tenant = _register(tenant_id)
    policy = _policy_of(tenant)
    _tenants.set(tenant_id, policy)
    return policy


def _register(tenant_id: str) -> Tenant:
    # Counted before creating: first requests of new tenants at the same moment may each
    # pass, so the cap can be overshot by the number of such concurrent requests.
    limit = settings.INGEST_OPEN_MAX_TENANTS
    if Tenant.objects.count() >= limit:
        logger.warning("open mode tenant limit reached", extra={"tenant_id": tenant_id, "limit": limit})
        raise TenantLimitReached(
            f"Tenant {tenant_id!r} is unknown, and open mode registers tenants only while fewer than "
            f"{limit} exist; an operator must create it (manage.py create_tenant)."
        )
    with write_transaction():
        tenant, _ = Tenant.objects.get_or_create(
            id=tenant_id, defaults={"rate_limit_per_minute": settings.INGEST_DEFAULT_RATE_PER_MINUTE}
        )
    return tenant


def presented_key(request: Request | Any) -> str | None:
    """The key from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, if any."""
    return bearer_token(request.META) or request.META.get("HTTP_X_API_KEY", "").strip() or None


def resolve_key(key: str) -> KeyGrant | None:
    """The grant of a usable (not revoked, not expired) key, or None."""
    if not _KEY_RE.fullmatch(key):
        return None
    digest = hashlib.sha256(key.encode()).hexdigest()
    grant = _keys.get(digest)
    if grant is None:
        try:
            api_key = TenantAPIKey.objects.get_from_key(key)
        except TenantAPIKey.DoesNotExist:
            return None
        grant = KeyGrant(key_id=api_key.pk, tenant_id=api_key.tenant_id, expires_at=api_key.expiry_date)
        _keys.set(digest, grant)
    if grant.expired:
        return None
    return grant


class TenantKeyAuthentication(BaseAuthentication):
    """DRF authentication for the tenant API.

    ``INGEST_AUTH=api_key``: a usable key is required (401 otherwise) and becomes
    ``request.auth`` (a ``KeyGrant``); the view checks it matches the tenant.
    ``INGEST_AUTH=open``: nobody is authenticated and ``request.auth`` is None.
    """

    def authenticate(self, request: Request) -> tuple[None, KeyGrant] | None:
        if auth_mode() != AUTH_API_KEY:
            return None
        key = presented_key(request)
        if key is None:
            raise NotAuthenticated()
        grant = resolve_key(key)
        if grant is None:
            raise NotAuthenticated("The API key is unknown, revoked or expired.")
        return (None, grant)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="dataproc"'


@receiver([post_save, post_delete], sender=Tenant, dispatch_uid="tenants.auth.tenant_changed")
def _tenant_changed(sender: type, instance: Tenant, **kwargs: Any) -> None:
    _tenants.discard(instance.pk)


@receiver([post_save, post_delete], sender=TenantAPIKey, dispatch_uid="tenants.auth.key_changed")
def _key_changed(sender: type, instance: TenantAPIKey, **kwargs: Any) -> None:
    # The cache is keyed by a digest of the plaintext, which is not stored: drop all.
    forget_keys()
