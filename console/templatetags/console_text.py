"""Template filters for showing log text in lists."""

from __future__ import annotations

from django import template

register = template.Library()

PREVIEW_CHARACTERS = 120


@register.filter
def one_line(text: str | None, length: int = PREVIEW_CHARACTERS) -> str:
    """The text as one line (runs of whitespace, newlines included, become one space), cut to ``length``."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"
