"""Cursor links for the log browser: newest, newer, older; never an offset.

Stores page by an opaque cursor that only moves towards older records. To go
back, each "Older" link carries the cursors of the pages before it (``back``,
the last ``MAX_TRAIL`` of them), so "Newer" is just the previous cursor again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

CURSOR_PARAM = "cursor"
TRAIL_PARAM = "back"
FIRST_PAGE = "-"  # stands for "no cursor" inside the trail
MAX_TRAIL = 20
MAX_CURSOR_LENGTH = 1000


@dataclass(frozen=True)
class CursorLinks:
    newest: str | None
    newer: str | None
    older: str | None

    @property
    def any(self) -> bool:
        return bool(self.newest or self.newer or self.older)


def current_cursor(query: QueryDict) -> str | None:
    cursor = query.get(CURSOR_PARAM, "")
    return cursor if 0 < len(cursor) <= MAX_CURSOR_LENGTH else None


def cursor_links(query: QueryDict, next_cursor: str | None) -> CursorLinks:
    """Query strings (with a leading "?") for the pages around the current one."""
    cursor = current_cursor(query)
    trail = [step for step in query.getlist(TRAIL_PARAM) if 0 < len(step) <= MAX_CURSOR_LENGTH][-MAX_TRAIL:]
    base = query.copy()
    for name in (CURSOR_PARAM, TRAIL_PARAM):
        base.pop(name, None)

    def link(to_cursor: str | None, to_trail: list[str]) -> str:
        params = base.copy()
        if to_cursor:
            params[CURSOR_PARAM] = to_cursor
            params.setlist(TRAIL_PARAM, to_trail)
        encoded = params.urlencode()
        return f"?{encoded}" if encoded else "?"

    older = link(next_cursor, [*trail, cursor or FIRST_PAGE][-MAX_TRAIL:]) if next_cursor else None
    newest = link(None, []) if cursor else None
    newer = None
    if cursor and trail:
        previous = trail[-1]
        newer = link(None if previous == FIRST_PAGE else previous, trail[:-1])
    return CursorLinks(newest=newest, newer=newer, older=older)
