"""Percentiles without numpy (nearest rank, as wrk reports them)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentiles(values: Iterable[float], points: Sequence[float]) -> dict[float, float | None]:
    """``{p: value}`` for each ``p`` in ``points`` (0-100); None for every point when empty."""
    ordered = sorted(values)
    if not ordered:
        return {point: None for point in points}
    result = {}
    for point in points:
        rank = max(1, math.ceil(point / 100 * len(ordered)))
        result[point] = round(ordered[min(rank, len(ordered)) - 1], 2)
    return result
