"""The allowed form of tenant and log identifiers.

They become Firestore path segments (``tenants/{tenant_id}/processed_logs/{log_id}``),
so anything that could address another path, or that Firestore reserves, is refused.
"""

import os
import re

IDENTIFIER_MAX_LENGTH = 128
_IDENTIFIER_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_RESERVED_RE = re.compile(r"__.*__")


def identifier_error(value: object, name: str) -> str | None:
    """Return why ``value`` is not a valid identifier, or None when it is."""
    if not isinstance(value, str):
        return f"{name} must be a string."
    if not value:
        return f"{name} must not be empty."
    if len(value) > IDENTIFIER_MAX_LENGTH:
        return f"{name} must be at most {IDENTIFIER_MAX_LENGTH} characters."
    if not _IDENTIFIER_RE.fullmatch(value):
        return f"{name} may contain only letters, digits and . _ : -"
    if value in (".", ".."):
        return f"{name} must not be '.' or '..'."
    if _RESERVED_RE.fullmatch(value):
        return f"{name} must not have the reserved form __name__."
    return None


def is_valid_identifier(value: object) -> bool:
    return identifier_error(value, "identifier") is None


def random_uuid4s(count: int) -> list[str]:
    """``count`` random UUIDs (version 4) in their canonical text form, as ``str(uuid.uuid4())``.

    The random bytes of all of them are read at once and formatted directly:
    a batch of 500 logs needs a thousand (log and message ids), and ``uuid4()``
    builds a ``UUID`` object around each.
    """
    randomness = os.urandom(16 * count)
    uuids = []
    for start in range(0, 16 * count, 16):
        digits = randomness[start : start + 16].hex()
        uuids.append(
            f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-"
            f"{_VARIANT_DIGITS[int(digits[16], 16) & 3]}{digits[17:20]}-{digits[20:]}"
        )
    return uuids


# RFC 4122's variant: the top two bits of byte 8 are 10, so its first hex digit is 8-b.
_VARIANT_DIGITS = "89ab"
