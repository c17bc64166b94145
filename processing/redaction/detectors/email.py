"""E-mail addresses, found from each ``@`` outwards by plain scanning (no backtracking pattern).

Local parts and domains may be Unicode (``josé.garcía@correo.es``, ``用户@例子.广告``): letters,
digits and combining marks of any script, plus ``. _ - + ! # $ * ^ ~`` and an apostrophe
between letters (``o'brien@``). The other characters RFC 5322 allows in a local part
(``= / ? & | { } ` % '``) are left out on purpose: in logs they are the delimiters
around a value (``?email=alice@...``, ``'alice@...'``), and reading them as part of the
address would swallow the key or the quote. The domain needs two labels or more and a
top-level label of letters (or ``xn--`` punycode), so ``user@localhost`` stays.
"""

from __future__ import annotations

import re
import unicodedata

from processing.redaction.spans import Hit

EMAIL = "email"
MAX_LOCAL_PART = 64
MAX_DOMAIN = 255
MAX_LABEL = 63
_ASCII_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+!#$*^~")
# A domain's labels; non-ASCII letters are \w too, combining marks (not \w) are taken by the slow walk.
_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)*")


def _word_char(char: str) -> bool:
    return char.isalnum() or (char > "\x7f" and unicodedata.category(char)[0] == "M")


def email_at(text: str, at: int, hits: list[Hit]) -> None:
    """The address around the ``@`` at ``at``, if there is one."""
    start = at
    floor = max(0, at - MAX_LOCAL_PART)
    while start > floor:
        char = text[start - 1]
        if char in _ASCII_LOCAL or (char > "\x7f" and _word_char(char)):
            start -= 1
        elif char == "'" and start - 2 >= 0 and _word_char(text[start - 2]) and _word_char(text[start]):
            start -= 1  # o'brien@: an apostrophe inside a name, not the quote around a value
        else:
            break
    while start < at and text[start] == ".":
        start += 1  # a local part cannot begin with a dot: "end. a@b.com"
    if start == at:
        return
    end = _domain_end(text, at + 1)
    if end is not None:
        hits.append(Hit(start, end, EMAIL, text[start:end].casefold()))


def _domain_end(text: str, start: int) -> int | None:
    """End of the longest valid domain (two labels or more, a real-looking top-level label) from ``start``."""
    limit = min(len(text), start + MAX_DOMAIN)
    match = _DOMAIN.match(text, start, limit)
    if match is None:
        return None
    stop = match.end()
    while stop < limit and text[stop] > "\x7f" and _word_char(text[stop]):
        # A combining mark (not \w): walk on through it and whatever label follows.
        stop += 1
        more = _DOMAIN.match(text, stop, limit)
        if more is not None:
            stop = more.end()
    end = None
    position = start
    for number, label in enumerate(text[start:stop].split(".")):
        if not label or len(label) > MAX_LABEL or label[0] == "-" or label[-1] == "-" or "_" in label:
            break
        position += len(label)
        if number >= 1 and _top_level(label):
            end = position
        position += 1
    return end


def _top_level(label: str) -> bool:
    return (len(label) >= 2 and label.isalpha()) or (label[:4].lower() == "xn--" and len(label) > 4)
