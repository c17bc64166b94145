"""Each tenant's redaction policy in force, as data: the newest ``RedactionPolicy`` and the tenant's secret.

The worker asks for it once per log, so it is kept in a small per-process cache for
``REDACTION_POLICY_CACHE_SECONDS`` (5 s by default): that is the staleness bound. A
policy saved or deleted, or a tenant changed, in this process is forgotten at once
(again when the transaction commits, so a reader cannot cache the row that was about
to be replaced); other processes see it when their entry expires. A tenant without
any saved policy, or unknown to the registry, is at version 0: the default policy.

This module hands back data and never interprets it: compiling a policy (and
checking it can be compiled) belongs to the pipeline (``processing.redaction``),
which the tenants layer must not import. ``save_redaction_policy`` stores what the
console validated.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.models import RedactionPolicy, Tenant

DEFAULT_VERSION = 0
_MAX_CACHED = 10_000


@dataclass(frozen=True)
class TenantRedactionPolicy:
    """What a tenant's logs are scrubbed with: a policy version, its spec as canonical JSON, the secret.

    Frozen and hashable, so the pipeline can key its compiled redactors by it.
    ``version`` 0 with ``spec_json`` ``"{}"``: the tenant saved no policy (the default).
    """

    tenant_id: str
    version: int
    spec_json: str = "{}"
    secret: bytes = field(default=b"", repr=False)

    @property
    def is_default(self) -> bool:
        return self.version == DEFAULT_VERSION

    @property
    def spec(self) -> dict[str, Any]:
        return json.loads(self.spec_json)


class PolicyConflict(Exception):
    """Another version was saved since the one an edit started from."""

    def __init__(self, current_version: int) -> None:
        self.current_version = current_version
        super().__init__(f"version {current_version} was saved meanwhile")


def canonical_json(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def secret_bytes(redaction_secret: str) -> bytes:
    """The tenant's hex secret as the key bytes (any other text as its UTF-8 bytes)."""
    try:
        return bytes.fromhex(redaction_secret)
    except ValueError:
        return redaction_secret.encode()


def load_redaction_policy(tenant_id: str) -> TenantRedactionPolicy:
    """The policy in force for ``tenant_id``, read from the database now (no cache)."""
    newest = (
        RedactionPolicy.objects.filter(tenant_id=tenant_id)
        .select_related("tenant")
        .order_by("-version")
        .first()
    )
    if newest is None:
        return TenantRedactionPolicy(tenant_id, DEFAULT_VERSION)
    spec = {key: value for key, value in (newest.spec or {}).items() if key != "version"}
    return TenantRedactionPolicy(
        tenant_id,
        newest.version,
        canonical_json(spec),
        secret_bytes(newest.tenant.redaction_secret),
    )


class _PolicyCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, TenantRedactionPolicy]] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str) -> TenantRedactionPolicy | None:
        entry = self._entries.get(tenant_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def set(self, policy: TenantRedactionPolicy) -> None:
        expires = time.monotonic() + settings.REDACTION_POLICY_CACHE_SECONDS
        with self._lock:
            if len(self._entries) >= _MAX_CACHED and policy.tenant_id not in self._entries:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[policy.tenant_id] = (expires, policy)

    def discard(self, tenant_id: str) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _PolicyCache()


def current_redaction_policy(tenant_id: str) -> TenantRedactionPolicy:
    """The policy in force for ``tenant_id``, at most ``REDACTION_POLICY_CACHE_SECONDS`` old.

    Database errors propagate: the caller decides (the worker retries the log later
    rather than scrub it with anything but the tenant's policy).
    """
    policy = _cache.get(tenant_id)
    if policy is None:
        policy = load_redaction_policy(tenant_id)
        _cache.set(policy)
    return policy


def forget_redaction_policies(tenant_ids: Iterable[str] | None = None) -> None:
    """Drop cached policies (of these tenants, or all), e.g. after changes that sent no signal."""
    if tenant_ids is None:
        _cache.clear()
        return
    for tenant_id in tenant_ids:
        _cache.discard(tenant_id)


def policy_versions(tenant_id: str, *, limit: int = 10) -> list[RedactionPolicy]:
    """The tenant's newest saved versions, newest first."""
    return list(RedactionPolicy.objects.filter(tenant_id=tenant_id).order_by("-version")[:limit])


def newest_version(tenant_id: str) -> int:
    newest = RedactionPolicy.objects.filter(tenant_id=tenant_id).aggregate(newest=Max("version"))["newest"]
    return newest or DEFAULT_VERSION


def save_redaction_policy(
    tenant: Tenant, spec: dict[str, Any], *, created_by: str, based_on: int | None = None
) -> RedactionPolicy:
    """Store ``spec`` (already validated) as the tenant's next version and return the new row.

    ``based_on`` is the version the edit started from: if another version was saved
    since, ``PolicyConflict`` and nothing is stored, so no one's change is silently
    overwritten. The unique (tenant, version) constraint settles two saves at once.
    """
    spec = {key: value for key, value in spec.items() if key != "version"}
    try:
        with transaction.atomic():
            current = newest_version(tenant.pk)
            if based_on is not None and current != based_on:
                raise PolicyConflict(current)
            return RedactionPolicy.objects.create(
                tenant=tenant, version=current + 1, spec=spec, created_by=created_by[:150]
            )
    except IntegrityError:
        raise PolicyConflict(newest_version(tenant.pk)) from None


def _forget_now_and_on_commit(tenant_id: str) -> None:
    _cache.discard(tenant_id)
    # A reader between this signal and the commit would cache the old row for a whole
    # TTL; forgetting again once the change is visible closes that gap.
    transaction.on_commit(lambda: _cache.discard(tenant_id))


@receiver([post_save, post_delete], sender=RedactionPolicy, dispatch_uid="tenants.redaction_policies.policy")
def _policy_changed(sender: type, instance: RedactionPolicy, **kwargs: Any) -> None:
    _forget_now_and_on_commit(instance.tenant_id)


@receiver([post_save, post_delete], sender=Tenant, dispatch_uid="tenants.redaction_policies.tenant")
def _tenant_changed(sender: type, instance: Tenant, **kwargs: Any) -> None:
    _forget_now_and_on_commit(instance.pk)
