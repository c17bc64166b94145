"""What detectors report: spans of the scanned text, each with the value's normalised key."""

from __future__ import annotations

from typing import NamedTuple


class Hit(NamedTuple):
    """``text[start:end]`` is a ``detector`` finding; ``key`` is its value normalised (digits of a
    number, an address lower-cased): what the allow-list and hash tokens compare, so one phone
    number written two ways is allowed, or hashed, alike."""

    start: int
    end: int
    detector: str
    key: str
