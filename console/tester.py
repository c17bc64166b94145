"""The policy tester: a sample line run through a policy that is not saved yet, each finding marked and named."""

from __future__ import annotations

from dataclasses import dataclass

from processing.redaction import Redactor, Span


@dataclass(frozen=True)
class Piece:
    """A stretch of the sample: plain text, or a finding (``detector`` set) and what it becomes."""

    text: str
    detector: str = ""
    replacement: str = ""

    @property
    def is_finding(self) -> bool:
        return bool(self.detector)


@dataclass(frozen=True)
class TesterResult:
    sample: str
    pieces: list[Piece]
    output: str
    findings: dict[str, int]
    spans: list[Span]


def try_policy(redactor: Redactor, sample: str) -> TesterResult:
    """What ``redactor`` finds in ``sample`` (``explain``), as marked pieces, and what it stores."""
    spans = redactor.explain(sample)
    pieces = []
    position = 0
    for span in spans:
        if span.start > position:
            pieces.append(Piece(sample[position : span.start]))
        pieces.append(Piece(sample[span.start : span.end], span.detector, span.replacement))
        position = span.end
    if position < len(sample):
        pieces.append(Piece(sample[position:]))
    scrubbed = redactor.scrub(sample)
    return TesterResult(sample, pieces, scrubbed.text, dict(sorted(scrubbed.findings.items())), spans)
