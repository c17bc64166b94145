"""What happens to one log: the simulated heavy work, then redaction under the tenant's policy.

``handle(envelope)`` is the whole pipeline and knows nothing about queues or
stores; ``processing.worker.decide`` wraps it with the store and the retry rules.
It answers a ``WorkResult``: the redacted text and attributes, what redaction
found (counts per detector, text and attributes together) and the policy version
it applied. The policy is the tenant's newest version, read after the work (so a
change made meanwhile applies) through a cache at most ``REDACTION_POLICY_CACHE_SECONDS``
old (``processing.tenant_redaction``); a tenant without one gets the default, version 0.

The specification makes the work expensive on purpose: ``PROCESSING_DELAY_PER_CHAR``
seconds of sleep per character (0.05 s: a 100-character log takes 5 s), read at
call time so tests can turn it off or down with ``override_settings``.

Demo failures (``PROCESSING_DEMO_FAILURES``, only ever on with ``DJANGO_DEBUG``):
a log whose text contains ``[demo:fail=N]`` fails its first N attempts and
``[demo:fail=always]`` fails every one, so the console can show retries and dead
letters without breaking anything real.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from django.conf import settings

from core.envelope import LogEnvelope
from processing.tenant_redaction import scrub_log, tenant_redactor

DEMO_FAILURE_MARKER = re.compile(r"\[demo:fail=(?P<times>\d{1,4}|always)\]")


class DemoFailure(Exception):
    """The failure a ``[demo:fail=...]`` marker asked for."""


@dataclass(frozen=True)
class WorkResult:
    """What the work made of one log: what the store keeps beside the envelope's own fields."""

    modified_data: str
    attributes: dict = field(default_factory=dict)
    findings: dict = field(default_factory=dict)
    policy_version: int = 0


def handle(envelope: LogEnvelope, *, attempt: int = 1) -> WorkResult:
    """Process one log: the simulated work, then redaction of its text and attributes.

    ``attempt`` counts this log's attempts, this one included; only demo
    failures look at it. ``StoreUnavailable`` when the tenant's policy cannot be
    read (the worker retries without counting an attempt).
    """
    simulate_work(envelope.text)
    if settings.PROCESSING_DEMO_FAILURES:
        raise_demo_failure(envelope.text, attempt)
    scrubbed = scrub_log(tenant_redactor(envelope.tenant_id), envelope.text, envelope.attributes)
    return WorkResult(
        modified_data=scrubbed.text,
        attributes=scrubbed.attributes,
        findings=scrubbed.findings,
        policy_version=scrubbed.policy_version,
    )


def simulated_work_seconds(text: str) -> float:
    return len(text) * settings.PROCESSING_DELAY_PER_CHAR


def simulate_work(text: str) -> None:
    seconds = simulated_work_seconds(text)
    if seconds > 0:
        time.sleep(seconds)


def raise_demo_failure(text: str, attempt: int) -> None:
    marker = DEMO_FAILURE_MARKER.search(text)
    if marker is None:
        return
    times = marker.group("times")
    if times == "always":
        raise DemoFailure(f"demo failure requested on every attempt (attempt {attempt})")
    if attempt <= int(times):
        raise DemoFailure(f"demo failure {attempt} of {times} requested")
