"""The bounds the format layer enforces, with their defaults and the settings that change them.

Each limit is a setting of the same name (``dataproc_site.settings``); a setting
that is not defined there yet falls back to the default below, so the parsers can
be used, and tested, before the views are wired to them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.conf import settings

MiB = 1024 * 1024

# Bytes on the wire (compressed, when Content-Encoding says so). At least 10 MB so a
# shipper's default batch fits (Vector's http sink batches up to 10 MB).
DEFAULT_MAX_BODY_BYTES = 10 * MiB
# Bytes after decompression: OTLP/HTTP recommends 20 MiB; past it, 413 (a bomb).
DEFAULT_MAX_DECOMPRESSED_BYTES = 20 * MiB
# Records in one request (NDJSON lines, JSON array items, OTLP LogRecords).
DEFAULT_MAX_BATCH_LINES = 1000
# Characters of one log's text. The worker spends PROCESSING_DELAY_PER_CHAR per
# character (0.05 s as specified): 10,000 characters is 500 s, inside Pub/Sub's
# 600 s maximum ack deadline for push delivery.
DEFAULT_MAX_TEXT_CHARS = 10_000
# Attributes of one record (top-level fields beyond the known ones; OTLP attributes).
# Past a bound an attribute is dropped (or a long string truncated) and counted in a
# marker attribute, never the whole record: see fields.bound_attributes.
DEFAULT_MAX_ATTRIBUTES = 64
DEFAULT_MAX_ATTRIBUTE_KEY_CHARS = 128
DEFAULT_MAX_ATTRIBUTE_VALUE_CHARS = 4096
# All attributes of one record together, as UTF-8 (keys and values): with the text
# bound this keeps a stored record (original and redacted copies) far below
# Firestore's 1 MiB document limit.
DEFAULT_MAX_ATTRIBUTES_BYTES = 64 * 1024


@dataclass(frozen=True)
class IntakeLimits:
    """Every bound of the format layer; ``from_settings()`` reads the ``INGEST_*`` settings."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    max_batch_lines: int = DEFAULT_MAX_BATCH_LINES
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_attributes: int = DEFAULT_MAX_ATTRIBUTES
    max_attribute_key_chars: int = DEFAULT_MAX_ATTRIBUTE_KEY_CHARS
    max_attribute_value_chars: int = DEFAULT_MAX_ATTRIBUTE_VALUE_CHARS
    max_attributes_bytes: int = DEFAULT_MAX_ATTRIBUTES_BYTES

    def __post_init__(self) -> None:
        for limit in fields(self):
            value = getattr(self, limit.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{setting_name(limit.name)} must be a positive integer, not {value!r}.")

    @classmethod
    def from_settings(cls) -> IntakeLimits:
        return cls(
            **{
                limit.name: getattr(settings, setting_name(limit.name), limit.default)
                for limit in fields(cls)
            }
        )


def setting_name(limit_name: str) -> str:
    """The setting behind a limit: ``max_text_chars`` is ``INGEST_MAX_TEXT_CHARS``."""
    return f"INGEST_{limit_name.upper()}"
