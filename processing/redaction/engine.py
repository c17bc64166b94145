"""``Redactor``: one compiled policy applied to texts and attribute values.

For a text: percent-encoded parts are decoded for matching (``encoding``); the scanner
(built-in detectors) and the policy's custom rules report hits; allowed values are
dropped; overlapping hits are merged, so no detector can leave half a value behind, and
each merged span counts once, for the detector of its longest hit; each span becomes its
detector's replacement. Findings are counts per detector, never the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from processing.redaction.detectors.custom import CustomRules
from processing.redaction.encoding import percent_decode
from processing.redaction.policy import Replacement
from processing.redaction.replacements import REDACTED, replacement_for
from processing.redaction.scan import Scanner
from processing.redaction.spans import Hit

# Attribute values nested deeper than this are replaced whole: intake bounds attributes
# far below it, and nothing unscrubbed may pass whatever arrives.
MAX_ATTRIBUTE_DEPTH = 32
# When two merged hits are equally long, the first of these names the span.
PRIORITY = ("email", "iban", "card", "ssn", "phone", "ip")
_RANK = {name: rank for rank, name in enumerate(PRIORITY)}


# Named tuples: one of each is made per log (per finding for Span), and they are cheaper
# to build than frozen dataclasses.
class Scrubbed(NamedTuple):
    """A redacted text and its findings: ``{detector: count}`` (custom rules as ``custom:<name>``)."""

    text: str
    findings: dict[str, int]


class ScrubbedAttributes(NamedTuple):
    attributes: dict[str, Any]
    findings: dict[str, int]


class Span(NamedTuple):
    """One finding of ``explain``: ``text[start:end]`` is a ``detector`` value, shown as ``replacement``."""

    start: int
    end: int
    detector: str
    replacement: str


def merge_findings(*counts: Mapping[str, int]) -> dict[str, int]:
    """Findings added up, e.g. a log's text and its attributes: ``{detector: total}``."""
    merged: dict[str, int] = {}
    for findings in counts:
        for detector, count in findings.items():
            merged[detector] = merged.get(detector, 0) + count
    return merged


class Redactor:
    """A compiled policy. Build one with ``compile_policy``; it is immutable and thread-safe."""

    def __init__(
        self,
        scanner: Scanner,
        custom: CustomRules | None,
        methods: Mapping[str, Replacement],
        allowed: frozenset[str],
        secret: bytes,
        *,
        version: int = 1,
    ) -> None:
        self._scanner = scanner
        self._custom = custom
        self._methods = dict(methods)
        # What does not depend on the value ([REDACTED], [PHONE], nothing), worked out once.
        self._fixed = {
            detector: replacement_for(method, detector, "", "", b"")
            for detector, method in self._methods.items()
            if method not in (Replacement.MASK, Replacement.HASH)
        }
        self._allowed = allowed
        self._secret = secret
        self.version = version

    def scrub(self, text: str, *, context: str = "") -> Scrubbed:
        """``text`` with every finding replaced, and the findings counted.

        ``context`` is read as the words before the text (an attribute's key), for the
        numbers whose reading depends on what precedes them.
        """
        spans = self._spans(text, context)
        if not spans:
            return Scrubbed(text, {})
        pieces = []
        findings: dict[str, int] = {}
        position = 0
        for span in spans:
            pieces.append(text[position : span.start])
            pieces.append(span.replacement)
            position = span.end
            findings[span.detector] = findings.get(span.detector, 0) + 1
        pieces.append(text[position:])
        return Scrubbed("".join(pieces), findings)

    def explain(self, text: str, *, context: str = "") -> list[Span]:
        """Every finding in ``text``, in order, with what it would be replaced with (for a tester page)."""
        return self._spans(text, context)

    def scrub_attributes(self, attributes: Mapping[str, Any]) -> ScrubbedAttributes:
        """``attributes`` with every string value scrubbed like a text (nested objects and lists too;
        keys, numbers and booleans as they are), and the findings of all of them summed.

        Each value's key is read as the words before it (``{"order_id": "4829301756"}`` stays).
        An object or list nested ``MAX_ATTRIBUTE_DEPTH`` deep is replaced by ``[REDACTED]``."""
        findings: dict[str, int] = {}
        scrubbed = {key: self._scrub_value(value, str(key), findings, 1) for key, value in attributes.items()}
        return ScrubbedAttributes(scrubbed, findings)

    def _scrub_value(self, value: Any, key: str, findings: dict[str, int], depth: int) -> Any:
        if isinstance(value, str):
            result = self.scrub(value, context=key)
            for detector, count in result.findings.items():
                findings[detector] = findings.get(detector, 0) + count
            return result.text
        if isinstance(value, Mapping | list | tuple) and depth >= MAX_ATTRIBUTE_DEPTH:
            return REDACTED
        if isinstance(value, Mapping):
            return {
                inner: self._scrub_value(item, str(inner), findings, depth + 1)
                for inner, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._scrub_value(item, key, findings, depth + 1) for item in value]
        return value

    def _spans(self, text: str, context: str) -> list[Span]:
        decoded = percent_decode(text)
        source, origin = decoded if decoded else (text, None)
        hits = self._scanner.hits(source, context)
        if self._custom is not None:
            hits.extend(
                Hit(start, end, name, source[start:end]) for start, end, name in self._custom.find(source)
            )
        if self._allowed and hits:
            hits = [hit for hit in hits if not self._is_allowed(hit, source)]
        if not hits:
            return []
        spans = []
        fixed = self._fixed
        for start, end, winner in _merged(hits):
            replacement = fixed.get(winner.detector)
            if replacement is None:
                replacement = replacement_for(
                    self._methods[winner.detector],
                    winner.detector,
                    source[start:end],
                    winner.key,
                    self._secret,
                )
            if origin is not None:
                start, end = origin[start], origin[end]
            spans.append(Span(start, end, winner.detector, replacement))
        return spans

    def _is_allowed(self, hit: Hit, source: str) -> bool:
        return hit.key in self._allowed or source[hit.start : hit.end].casefold() in self._allowed


def _merged(hits: list[Hit]):
    """Overlapping hits as one span each: ``(start, end, the hit that names it)``."""
    hits.sort()
    start, end, winner = hits[0].start, hits[0].end, hits[0]
    for hit in hits[1:]:
        if hit.start < end:
            end = max(end, hit.end)
            if _outranks(hit, winner):
                winner = hit
        else:
            yield start, end, winner
            start, end, winner = hit.start, hit.end, hit
    yield start, end, winner


def _outranks(hit: Hit, winner: Hit) -> bool:
    length, best = hit.end - hit.start, winner.end - winner.start
    if length != best:
        return length > best
    return _RANK.get(hit.detector, len(PRIORITY)) < _RANK.get(winner.detector, len(PRIORITY))
