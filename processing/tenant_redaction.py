"""A tenant's redaction policy compiled for the pipeline, and what it makes of one log.

``tenants.redaction_policies`` hands over the policy in force as data (version,
spec, secret; cached for ``REDACTION_POLICY_CACHE_SECONDS``); this module compiles
it with the engine (``processing.redaction``), once per policy, and scrubs a log's
text and attributes with it. The worker (``pipeline.handle``) and the re-scrub
(``processing.rescrub``) both go through ``scrub_log``, so a record re-scrubbed under
a version holds exactly what the worker would have stored under it.

The tenant registry being unreachable is a ``StoreUnavailable``: a log is never
scrubbed with anything but its tenant's policy. A stored policy the engine refuses
(written around the console's validation) raises ``PolicyError``: the worker counts
a failed attempt and the log ends dead-lettered, to be replayed once the policy is
fixed, rather than stored under a policy nobody chose.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError

from processing.redaction import Redactor, compile_policy, default_redactor, merge_findings, parse_policy
from tenants.redaction_policies import TenantRedactionPolicy, current_redaction_policy, load_redaction_policy
from tenants.stores import StoreUnavailable

# Compiled tenant policies kept per process (the engine keeps its own cache by spec too).
CACHE_SIZE = 512


@dataclass(frozen=True)
class TenantRedactor:
    """A tenant's policy, compiled: ``version`` 0 is the default policy."""

    tenant_id: str
    version: int
    redactor: Redactor


@dataclass(frozen=True)
class ScrubbedLog:
    text: str
    attributes: dict[str, Any]
    findings: dict[str, int]
    policy_version: int


def tenant_redactor(tenant_id: str, *, fresh: bool = False) -> TenantRedactor:
    """The tenant's policy in force, compiled; ``fresh`` reads it from the database, bypassing the cache."""
    try:
        policy = load_redaction_policy(tenant_id) if fresh else current_redaction_policy(tenant_id)
    except DatabaseError as exc:
        raise StoreUnavailable(f"tenant registry unavailable: {exc}") from exc
    return compiled(policy)


@functools.lru_cache(maxsize=CACHE_SIZE)
def compiled(policy: TenantRedactionPolicy) -> TenantRedactor:
    """``policy`` compiled (``PolicyError`` if the engine refuses the stored spec)."""
    if policy.is_default:
        return TenantRedactor(policy.tenant_id, policy.version, default_redactor())
    spec = parse_policy({**policy.spec, "version": policy.version})
    return TenantRedactor(policy.tenant_id, policy.version, compile_policy(spec, secret=policy.secret))


def scrub_log(redactor: TenantRedactor, text: str, attributes: Mapping[str, Any]) -> ScrubbedLog:
    """``text`` and ``attributes`` scrubbed under ``redactor``; findings of both added up."""
    scrubbed_text = redactor.redactor.scrub(text)
    scrubbed_attributes = redactor.redactor.scrub_attributes(attributes)
    return ScrubbedLog(
        text=scrubbed_text.text,
        attributes=scrubbed_attributes.attributes,
        findings=merge_findings(scrubbed_text.findings, scrubbed_attributes.findings),
        policy_version=redactor.version,
    )
