"""A tenant's own rules, compiled with RE2 so that any pattern runs in time linear in the text.

RE2 refuses what would need backtracking (look-around, back-references) and bounds each
program's memory, so a rule saved by a tenant can neither stall a worker nor take its
memory. All of a policy's rules go into one ``re2.Set``: one pass says which rules match
a line at all (most lines match none), and only those are searched for their spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import re2

# Per compiled rule; RE2 fails the compilation of a pattern whose program needs more.
MAX_PROGRAM_MEMORY = 1 << 20
# The prefilter set of all of a policy's rules gets the rules' budgets together, up to this.
MAX_SET_MEMORY = 64 << 20
# A pattern that matches empty text would "find" something between every two characters.
_EMPTY_MATCH_PROBE = "a 1_-. é"
# RE2 reads UTF-8; a lone surrogate (JSON allows "\\ud800") has none, so it is read as U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _options(max_mem: int = MAX_PROGRAM_MEMORY) -> re2.Options:
    options = re2.Options()
    options.max_mem = max_mem
    options.log_errors = False
    return options


def _prefilter(patterns: Sequence[str]):
    """One ``re2.Set`` of every pattern; None when RE2 cannot build it within its memory budget."""
    rules_set = re2.Set.SearchSet(_options(min(MAX_SET_MEMORY, 2 * MAX_PROGRAM_MEMORY * len(patterns))))
    try:
        for pattern in patterns:
            rules_set.Add(pattern)
        rules_set.Compile()
    except re2.error:
        return None
    return rules_set


def rules_problem(patterns: Sequence[str]) -> str | None:
    """Why a policy's rules, each valid alone, cannot run together; None when they can."""
    if patterns and _prefilter(patterns) is None:
        return (
            "the custom rules together are more than RE2 can compile within its memory budget; "
            "simplify the largest patterns or remove some rules"
        )
    return None


def compile_pattern(pattern: str):
    """The compiled RE2 pattern; ``re2.error`` when RE2 cannot compile it."""
    return re2.compile(pattern, _options())


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a rule, in words; None when it can."""
    try:
        compiled = compile_pattern(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return (
            f"RE2 cannot compile this pattern ({reason}); rules run on RE2, which has no look-around "
            "or back-references, so every rule stays linear in the length of a log"
        )
    if compiled.fullmatch("") is not None or any(
        match.start() == match.end() for match in compiled.finditer(_EMPTY_MATCH_PROBE)
    ):
        return "the pattern matches empty text, so it would match between any two characters"
    return None


class CustomRules:
    """A policy's rules, as (finding name, compiled pattern) pairs behind one prefilter set."""

    def __init__(self, rules: Sequence[tuple[str, str]]) -> None:
        self.names = [name for name, _ in rules]
        self.patterns = [compile_pattern(pattern) for _, pattern in rules]
        # Validation refuses rules that do not fit one set; without one, every rule searches every text.
        self._set = _prefilter([pattern for _, pattern in rules])
        self._every_rule = list(range(len(self.patterns)))

    def find(self, text: str) -> Iterator[tuple[int, int, str]]:
        """``(start, end, finding name)`` of every non-empty match of every rule."""
        if self._set is None:
            matched = self._every_rule
        else:
            try:
                matched = self._set.Match(text)
            except UnicodeEncodeError:
                text = _SURROGATE.sub("\ufffd", text)
                matched = self._set.Match(text)
        if not matched:
            return
        for index in matched:
            name = self.names[index]
            for match in self.patterns[index].finditer(text):
                start, end = match.span()
                if start < end:
                    yield start, end, name
