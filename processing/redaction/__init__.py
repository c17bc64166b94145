"""PII redaction: a pure library, policies as data.

``redact(text)`` is the original contract: every default detector on, each finding as
``[REDACTED]``. A tenant's policy (``validate_policy`` / ``parse_policy``, see
``policy``) compiles once (``compile_policy``) into a ``Redactor`` whose ``scrub``
returns the text and its findings, ``explain`` the spans for a tester, and
``scrub_attributes`` the same for a log's attribute values. docs/redaction.md describes
the detectors, the policy format and the measured speed.
"""

from __future__ import annotations

from processing.redaction.compiler import clear_cache, compile_policy
from processing.redaction.detectors.card import luhn_valid
from processing.redaction.engine import Redactor, Scrubbed, ScrubbedAttributes, Span, merge_findings
from processing.redaction.policy import (
    DEFAULT_POLICY,
    DETECTORS,
    ON_BY_DEFAULT,
    CustomRule,
    DetectorSetting,
    PolicyError,
    PolicySpec,
    Replacement,
    parse_policy,
    validate_policy,
)
from processing.redaction.replacements import REDACTED

__all__ = [
    "DEFAULT_POLICY",
    "DETECTORS",
    "ON_BY_DEFAULT",
    "REDACTED",
    "CustomRule",
    "DetectorSetting",
    "PolicyError",
    "PolicySpec",
    "Redactor",
    "Replacement",
    "Scrubbed",
    "ScrubbedAttributes",
    "Span",
    "clear_cache",
    "compile_policy",
    "default_redactor",
    "luhn_valid",
    "merge_findings",
    "parse_policy",
    "redact",
    "validate_policy",
]


def default_redactor() -> Redactor:
    """The ``Redactor`` of ``DEFAULT_POLICY`` (no hash tokens, so no secret)."""
    return compile_policy(DEFAULT_POLICY, secret=b"")


def redact(text: str) -> str:
    """``text`` with every phone number, e-mail address, card number, SSN and IBAN as ``[REDACTED]``."""
    return default_redactor().scrub(text).text
