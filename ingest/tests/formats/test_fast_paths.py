"""The intake's fast readers agree with the exact ones on every input they take.

``load_json`` reads with orjson and falls back to json; ``_from_rfc3339`` reads
with ``datetime.fromisoformat`` and falls back to reading the parts. Each fast
path must give the answer of the slow one (the value, or the refusal) for any
input, so these compare them over generated inputs rather than examples.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.formats import fields
from ingest.formats.batch import load_json

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def strict_json(text: str):
    """json's reading with NaN and infinities refused: the reference ``load_json`` must match."""

    def refuse(name):
        raise ValueError(name)

    try:
        return ("value", json.loads(text, parse_constant=refuse))
    except (ValueError, RecursionError):
        return ("refused", None)


def fast_json(text: str):
    try:
        return ("value", load_json(text))
    except ValueError:
        return ("refused", None)


def same(left, right) -> bool:
    """Equal, and of the same types all the way down (1 == 1.0 == True would hide a float for an int)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return left == right


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_load_json_reads_every_json_document_as_json_does(value):
    text = json.dumps(value, ensure_ascii=False)
    assert same(fast_json(text), strict_json(text))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \\u\t\n\ud800é', max_size=40))
def test_load_json_accepts_and_refuses_what_json_does(text):
    assert same(fast_json(text), strict_json(text))


def test_an_integer_past_64_bits_stays_an_exact_integer():
    assert load_json('{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
    assert load_json("1e400") == float("inf")


TIMESTAMPS = st.builds(
    lambda date, separator, time, fraction, zone: f"{date}{separator}{time}{fraction}{zone}",
    st.from_regex(r"\A[0-9]{4}-(0[0-9]|1[0-3])-([0-3][0-9])\Z"),
    st.sampled_from(["T", "t", " "]),
    st.from_regex(r"\A([0-2][0-9]):([0-6][0-9]):([0-6][0-9])\Z"),
    st.sampled_from(["", ".5", ".123", ".123456", ".1234567", ".9999999", ".000000000001"]),
    st.sampled_from(["", "Z", "z"]) | st.from_regex(r"\A[+-]([0-2][0-9]):?([0-6][0-9])\Z"),
)


@settings(max_examples=1000, deadline=None)
@given(TIMESTAMPS)
def test_rfc3339_reads_every_timestamp_as_the_exact_reader_does(text):
    match = fields._RFC3339_RE.fullmatch(text)
    assert match is not None
    assert fields._from_rfc3339(text) == fields._rfc3339_by_parts(match)


def test_the_fast_reader_keeps_leap_seconds_and_offsets():
    assert fields.parse_event_time("2016-12-31T23:59:60Z") == "2016-12-31T23:59:59.999999+00:00"
    assert fields.parse_event_time("2026-11-30T10:00:00.1234567+01:00") == "2026-11-30T09:00:00.123456+00:00"
    assert fields.parse_event_time("2026-11-30 10:00:00") == "2026-11-30T10:00:00.000000+00:00"
    assert fields.parse_event_time("2026-11-30T10:00:00+24:00") is None
