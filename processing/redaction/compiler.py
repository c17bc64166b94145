"""``compile_policy``: a ``PolicySpec`` and a tenant's secret turned into a ``Redactor``, once.

Compiling builds the scan pattern for the enabled detectors, reads the regions'
telephone metadata, compiles the custom rules with RE2 and normalises the allow-list:
milliseconds of work that must not be paid per log. Compiled redactors are cached by
``(spec, secret)``; the spec is a frozen value, so a changed policy (another version, or
the same version edited) is another key and can never be served from a stale entry.
"""

from __future__ import annotations

import functools

from processing.redaction.detectors.custom import CustomRules
from processing.redaction.detectors.numbers import NumberConfig
from processing.redaction.detectors.phone import PhoneConfig
from processing.redaction.engine import Redactor
from processing.redaction.policy import PolicySpec, Replacement
from processing.redaction.scan import ScanConfig, Scanner

# Compiled policies kept per process: one per tenant (and secret) in use, the least recently used
# dropped first. Each holds a few compiled patterns; custom rules add at most 1 MiB of RE2 program each.
CACHE_SIZE = 512


def compile_policy(spec: PolicySpec, *, secret: bytes) -> Redactor:
    """The ``Redactor`` for ``spec`` with the tenant's ``secret`` (the key of hash tokens), cached.

    ``ValueError`` if the policy hashes values and ``secret`` is empty: tokens keyed with
    nothing would be the same for every tenant and open to guessing.
    """
    if not isinstance(spec, PolicySpec):
        raise TypeError(f"compile_policy takes a PolicySpec (see parse_policy), not {type(spec).__name__}")
    return _compile(spec, bytes(secret))


def clear_cache() -> None:
    _compile.cache_clear()


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile(spec: PolicySpec, secret: bytes) -> Redactor:
    methods = {
        name: spec.detector(name).replacement for name in ("phone", "email", "card", "ssn", "iban", "ip")
    }
    methods.update({rule.finding: rule.replacement for rule in spec.custom_rules})
    enabled = {
        name
        for name in methods
        if name in ("phone", "email", "card", "ssn", "iban", "ip") and spec.enabled(name)
    }
    if not secret and any(
        method is Replacement.HASH
        for name, method in methods.items()
        if name in enabled or name.startswith("custom:")
    ):
        raise ValueError("a policy that replaces values with hash tokens needs the tenant's secret")
    phone = PhoneConfig.for_regions(spec.regions) if "phone" in enabled else None
    numbers = (
        NumberConfig(phone=phone, card="card" in enabled, ssn="ssn" in enabled)
        if phone or "card" in enabled or "ssn" in enabled
        else None
    )
    scanner = Scanner(
        ScanConfig(numbers=numbers, email="email" in enabled, iban="iban" in enabled, ip="ip" in enabled)
    )
    custom = (
        CustomRules([(rule.finding, rule.pattern) for rule in spec.custom_rules])
        if spec.custom_rules
        else None
    )
    allowed: set[str] = set()
    for value in spec.allow:
        # A value is compared as its own text and as what the detectors read in it, so an
        # allowed "+1 800 555 0100" also allows "(800) 555-0100".
        allowed.add(value.casefold())
        allowed.update(hit.key for hit in scanner.hits(value))
    return Redactor(scanner, custom, methods, frozenset(allowed), secret, version=spec.version)
