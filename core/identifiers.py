"""The allowed form of tenant and log identifiers.

They become Firestore path segments (``tenants/{tenant_id}/processed_logs/{log_id}``),
so anything that could address another path, or that Firestore reserves, is refused.
"""

import os
import re
import time

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

    The random bytes of all of them are read and turned into hex digits at once, and
    each UUID is cut from those digits: a batch of 500 logs needs a thousand (log and
    message ids), and ``uuid4()`` builds a ``UUID`` object around each.
    """
    digits = os.urandom(16 * count).hex()
    variant = _VARIANT_DIGIT
    return [
        f"{digits[start : start + 8]}-{digits[start + 8 : start + 12]}-4{digits[start + 13 : start + 16]}-"
        f"{variant[digits[start + 16]]}{digits[start + 17 : start + 20]}-{digits[start + 20 : start + 32]}"
        for start in range(0, 32 * count, 32)
    ]


def time_ordered_uuids(count: int) -> list[str]:
    """``count`` UUIDs of version 7 (RFC 9562) in canonical text form: the Unix time in milliseconds, then random bits.

    For ids a database keeps a unique index on: ids made one after another sort
    together, so a batch's rows go to the end of the index instead of each to a
    random page of it (on SQLite in WAL mode every page a commit touches is
    written out again: for the queue's 500-row batches, random ids made the
    insert cost about twice as much). Each id still has 74 random bits. Not for
    ids that must not tell when they were made, nor for Firestore document ids,
    which must not increase (a rising key range is one hot tablet there).
    """
    millis = f"{time.time_ns() // 1_000_000:012x}"
    head = f"{millis[:8]}-{millis[8:12]}-7"
    digits = os.urandom(10 * count).hex()
    variant = _VARIANT_DIGIT
    return [
        f"{head}{digits[start : start + 3]}-{variant[digits[start + 3]]}{digits[start + 4 : start + 7]}-"
        f"{digits[start + 7 : start + 19]}"
        for start in range(0, 20 * count, 20)
    ]


# RFC 4122's variant: the top two bits of byte 8 are 10, so its first hex digit is 8-b
# (the random digit's two low bits kept).
_VARIANT_DIGIT = {f"{number:x}": "89ab"[number & 3] for number in range(16)}
