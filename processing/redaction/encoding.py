"""Percent-encoded text (query strings, form bodies) decoded for matching, with a map back.

``/unsubscribe?email=alice%40example.com`` holds an address only once ``%40`` is read as
``@``. The detectors run on the decoded text; each span they report is mapped back to
the original, so what gets replaced is the encoded span (``alice%40example.com``) and the
rest of the text stays byte for byte as it was. ``+`` is not read as a space: in logs it
is far more often the plus of a phone number than form encoding.
"""

from __future__ import annotations

import re

_ENCODED_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def percent_decode(text: str) -> tuple[str, list[int]] | None:
    """``(decoded, origin)`` where ``origin[i]`` is the offset in ``text`` of decoded character ``i``
    (``origin[len(decoded)] == len(text)``); None when ``text`` has nothing percent-encoded.

    A byte that is not part of valid UTF-8 decodes to U+FFFD, one per byte, so every
    decoded character still maps to the ``%XX`` it came from.
    """
    if "%" not in text:
        return None
    pieces: list[str] = []
    origin: list[int] = []
    position = 0
    for run in _ENCODED_RUN.finditer(text):
        start, end = run.span()
        pieces.append(text[position:start])
        origin.extend(range(position, start))
        decoded = bytes.fromhex(text[start:end].replace("%", "")).decode("utf-8", "surrogateescape")
        offset = start
        for char in decoded:
            origin.append(offset)
            offset += 3 * len(char.encode("utf-8", "surrogateescape"))
        pieces.append(_ESCAPED_BYTE.sub("\ufffd", decoded))
        position = end
    if not pieces:
        return None
    pieces.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return "".join(pieces), origin
