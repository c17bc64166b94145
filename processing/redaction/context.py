"""Context words: what the few words before an ambiguous number say it is.

A bare run of digits (``4155552671``), a short dashed number (``555-0199``) or a national
number read through a tenant's region can be a phone number as easily as an order id, a
byte count or a build number. The words just before it decide, as in Presidio's context
enhancers and Datadog's keyword windows: among the nearest ``NEAREST_WORDS`` words on the
same line (within ``WINDOW_CHARS`` characters; the key of an attribute counts as the
words before its value), a raising word makes it a phone number and, failing that, a
lowering word among the nearest ``LOWERING_WORDS`` makes it something else (further
away, a lowering word is usually about something else: "request 5 from user 555-0105"). Raising wins because leaving a phone number in a
log costs more than redacting an id. Keys glued to their value split into words:
``cust_phone_4155552671`` reads "cust", "phone".

Unambiguous forms (``+44 20 7946 0958``, ``(555) 123-4567``, ``555-123-4567``) are not
subject to context: they are phone numbers whatever precedes them.
"""

from __future__ import annotations

import re
from enum import Enum

WINDOW_CHARS = 40
NEAREST_WORDS = 3
LOWERING_WORDS = 2

RAISING = frozenset(
    {
        "phone",
        "phones",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mob",
        "cell",
        "cellphone",
        "fax",
        "call",
        "called",
        "caller",
        "calling",
        "callback",
        "sms",
        "whatsapp",
        "msisdn",
        "dial",
        "dialed",
        "dialled",
        "contact",
        "landline",
        "voicemail",
    }
)
LOWERING = frozenset(
    {
        "order",
        "orders",
        "invoice",
        "invoices",
        "inv",
        "build",
        "builds",
        "bytes",
        "byte",
        "id",
        "ids",
        "version",
        "ver",
        "txn",
        "transaction",
        "ref",
        "reference",
        "pid",
        "uid",
        "gid",
        "port",
        "size",
        "count",
        "total",
        "amount",
        "seq",
        "sequence",
        "offset",
        "epoch",
        "ts",
        "timestamp",
        "duration",
        "length",
        "len",
        "request",
        "req",
        "trace",
        "span",
        "job",
        "batch",
        "ticket",
        "issue",
        "commit",
        "sha",
        "hash",
        "serial",
        "sku",
        "item",
        "product",
        "tracking",
        "shipment",
        "parcel",
        "row",
        "rows",
        "page",
        "revision",
        "rev",
        "release",
        "records",
        "delta",
        "units",
        "qty",
        "quantity",
        "price",
        "cost",
        "balance",
        "checksum",
        "crc",
        "nonce",
        "inode",
    }
)
SSN_WORDS = frozenset({"ssn", "ssns", "ss"})
CONTEXT_WORDS = RAISING | LOWERING | SSN_WORDS | {"social", "security"}

_WORD = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """The words of ``text`` as context reads them (letters only: ``cust_phone_4155`` is cust, phone), lower-cased."""
    return [word.lower() for word in _WORD.findall(text)]


class Verdict(Enum):
    RAISE = "raise"
    LOWER = "lower"


def nearest_words(text: str, start: int, leading: str = "") -> list[str]:
    """The last ``NEAREST_WORDS`` words before ``start`` on its line, nearest last, lower-cased."""
    window = text[max(0, start - WINDOW_CHARS) : start]
    newline = window.rfind("\n")
    if newline != -1:
        window = window[newline + 1 :]
    elif leading and start < WINDOW_CHARS:
        window = f"{leading} {window}"
    return _WORD.findall(window.lower())[-NEAREST_WORDS:]


def verdict(text: str, start: int, leading: str = "") -> Verdict | None:
    """What the words before ``start`` say of an ambiguous number there; None when nothing."""
    words = nearest_words(text, start, leading)
    if not words:
        return None
    if not RAISING.isdisjoint(words):
        return Verdict.RAISE
    if not LOWERING.isdisjoint(words[-LOWERING_WORDS:]):
        return Verdict.LOWER
    return None


def says_ssn(text: str, start: int, leading: str = "") -> bool:
    """Whether an SSN keyword (``ssn``, ``SSN:``, ``social security``) is among the words before ``start``."""
    words = nearest_words(text, start, leading)
    return not SSN_WORDS.isdisjoint(words) or ("security" in words and "social" in words)
