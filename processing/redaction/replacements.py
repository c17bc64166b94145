"""What a finding is replaced with: the five methods of a policy.

- ``redact``: ``[REDACTED]`` (the contract of the original service);
- ``typed``: the detector's name, ``[PHONE]``, ``[EMAIL]``, ``[EMPLOYEE_ID]``;
- ``mask``: every letter and digit but the last four as ``*``, separators kept
  (``***-***-0199``, ``**** **** **** 1111``): enough for "the card ending 1111"
  (a value of four or fewer is masked whole);
- ``hash``: ``[PHONE:9f86d081884c7d65]``, the first 16 hex digits of HMAC-SHA256 keyed with
  the tenant's secret over the detector and the value's normalised key. Equal values give
  equal tokens within a tenant (so they can still be counted and correlated), tenants with
  different secrets get unrelated tokens, and nobody without the secret can test a guess;
- ``remove``: nothing at all.
"""

from __future__ import annotations

import hashlib
import hmac

from processing.redaction.policy import Replacement

REDACTED = "[REDACTED]"
MASK_CHAR = "*"
KEEP_LAST = 4
HASH_HEX_DIGITS = 16


def label(detector: str) -> str:
    """``phone`` -> ``PHONE``; ``custom:employee_id`` -> ``EMPLOYEE_ID``."""
    return detector.rpartition(":")[2].upper()


def mask(value: str) -> str:
    alphanumerics = sum(1 for char in value if char.isalnum())
    # A value of four characters or fewer is masked whole: keeping "the last four" would keep it all.
    to_mask = alphanumerics - KEEP_LAST if alphanumerics > KEEP_LAST else alphanumerics
    masked = []
    for char in value:
        if char.isalnum() and to_mask > 0:
            masked.append(MASK_CHAR)
            to_mask -= 1
        else:
            masked.append(char)
    return "".join(masked)


def hash_token(detector: str, key: str, secret: bytes) -> str:
    digest = hmac.new(secret, f"{detector}\x00{key}".encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"[{label(detector)}:{digest.hexdigest()[:HASH_HEX_DIGITS]}]"


def replacement_for(method: Replacement, detector: str, value: str, key: str, secret: bytes) -> str:
    if method is Replacement.REDACT:
        return REDACTED
    if method is Replacement.TYPED:
        return f"[{label(detector)}]"
    if method is Replacement.MASK:
        return mask(value)
    if method is Replacement.HASH:
        return hash_token(detector, key, secret)
    return ""
