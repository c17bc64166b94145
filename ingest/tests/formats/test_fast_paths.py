"""The intake's fast readers agree with the exact ones on every input they take.

``load_json`` reads with orjson and falls back to json; ``_from_rfc3339`` reads
with ``datetime.fromisoformat`` and falls back to reading the parts;
``_canonical_utc`` reads the shippers' UTC form by its shape. The lean record path
(``record_from_object``, ``bound_attributes``, the NDJSON and array readers) must
give what the code it replaced gives (``reference.py``). Each fast path must give
the answer of the slow one (the value, or the refusal) for any input, so these
compare them over generated inputs rather than examples.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from ingest.formats import batch, fields, otlp
from ingest.formats.batch import load_json
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import IntakeRecord, RecordInvalid, intake_record
from ingest.tests.formats import reference

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


# -- the lean record path: each reader against the code it replaced (tests/formats/reference.py) --

WEIRD_TEXT = st.text(alphabet="ab é\x00\ud800\t_.", max_size=12)
STAMPS = TIMESTAMPS | st.sampled_from(
    [
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:00:00.1Z",
        "2026-11-30T10:00:00.123456+00:00",
        "2026-11-30T10:00:00.1234567Z",
        "2026-02-30T10:00:00Z",
        "2016-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2026-11-30T10:00:00.Z",
        "2026-11-30T10:00:00.\u0661\u0662Z",  # Arabic-Indic digits are digits to str.isdigit
        " 2026-11-30T10:00:00Z",
        "2026-11-30t10:00:00Z",
        "2026-W48-1T10:00:00Z",
        "2026-11-30T10+00:00",
        "20261130T100000Z",
        "1714564800",
        "1714564800.25",
    ]
)
KEYS = (
    st.sampled_from(
        [
            *fields.TEXT_FIELDS,
            *fields.TIME_FIELDS,
            *fields.SEVERITY_FIELDS,
            fields.TENANT_FIELD,
            fields.LOG_ID_FIELD,
            *fields.MARKERS,
            "host",
            "__name__",
            "__",
            "____",
            "___",
            "",
            "ключ",
        ]
    )
    | WEIRD_TEXT
)
VALUES = (
    JSON_VALUES
    | STAMPS
    | WEIRD_TEXT
    | st.sampled_from(["acme", "log-1", "..", "__x__", "a/b", "  ", "info", "x" * 40])
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([float("nan"), float("inf"), 1e16, 2.0**63, -0.0])
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=8)
LIMITS = st.just(IntakeLimits()) | st.builds(
    IntakeLimits,
    max_text_chars=st.integers(1, 40),
    max_attributes=st.integers(1, 5),
    max_attribute_key_chars=st.integers(1, 8),
    max_attribute_value_chars=st.integers(1, 12),
    max_attributes_bytes=st.integers(1, 60),
)


def outcome(read, *args):
    try:
        return ("record", read(*args))
    except RecordInvalid as invalid:
        return ("invalid", invalid.code, invalid.detail)


def same_outcome(left, right) -> bool:
    if left[0] != right[0]:
        return False
    if left[0] == "invalid":
        return left == right
    mine, theirs = left[1], right[1]
    plain = ("text", "tenant_id", "log_id", "event_time", "severity")
    return all(same(getattr(mine, name), getattr(theirs, name)) for name in plain) and same(
        mine.attributes, theirs.attributes
    )


@settings(max_examples=800, deadline=None)
@given(STAMPS | st.text(alphabet="0123456789-:T.Z+ ", max_size=32))
def test_the_canonical_utc_reading_is_the_exact_one_or_steps_aside(text):
    canonical = fields._canonical_utc(text)
    assert canonical is None or canonical == fields._read_event_time(text)
    assert fields.parse_event_time(text) == fields._read_event_time(text)


def test_the_canonical_utc_reading_takes_the_shippers_forms():
    assert fields._canonical_utc("2026-11-30T10:00:00.123Z") == "2026-11-30T10:00:00.123000+00:00"
    assert fields._canonical_utc("2026-11-30T10:00:00+00:00") == "2026-11-30T10:00:00.000000+00:00"
    assert fields._canonical_utc("2026-11-30T10:00:00.123456789Z") is None  # the exact reading cuts it
    assert fields._canonical_utc("2026-02-30T10:00:00Z") is None
    assert fields.parse_event_time("2026-02-30T10:00:00Z") is None


@settings(max_examples=800, deadline=None)
@given(DOCUMENTS, LIMITS)
def test_a_log_object_is_read_as_the_reference_reads_it(document, limits):
    assert same_outcome(
        outcome(fields.record_from_object, document, limits),
        outcome(reference.record_from_object, document, limits),
    )


@settings(max_examples=800, deadline=None)
@given(st.dictionaries(KEYS | st.integers(0, 3) | st.none(), VALUES, max_size=10), LIMITS)
def test_attributes_are_bounded_as_the_reference_bounds_them(candidates, limits):
    assert same(fields.bound_attributes(candidates, limits), reference.bound_attributes(candidates, limits))


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS, LIMITS, st.sets(KEYS, max_size=3))
def test_skipped_keys_are_as_if_absent(document, limits, skip):
    remaining = {key: value for key, value in document.items() if key not in skip}
    assert same(
        fields.bound_attributes(document, limits, skip), reference.bound_attributes(remaining, limits)
    )


def test_a_string_subclass_value_is_sized_and_kept_as_before():
    class Text(str):
        pass

    limits = IntakeLimits(max_attribute_value_chars=2)
    assert fields.bound_attributes({"k": Text("long")}, limits) == reference.bound_attributes(
        {"k": Text("long")}, limits
    )


def line_outcome(read, line: bytes):
    try:
        return ("value", read(line))
    except UnicodeDecodeError as exc:
        return ("utf-8", exc.start)
    except ValueError as exc:
        return ("refused", str(exc))


@settings(max_examples=800, deadline=None)
@given(
    st.binary(max_size=24)
    | JSON_VALUES.map(lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    | st.text(alphabet='{}[]",:0123456789.eE+-truefalsn \\u\t\ud800é', max_size=30).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    )
)
def test_a_line_is_read_from_its_bytes_as_from_its_text(line):
    assert same(
        line_outcome(batch._load_line, line), line_outcome(lambda raw: load_json(raw.decode("utf-8")), line)
    )


LINES = (
    DOCUMENTS.map(lambda document: json.dumps(document, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    | st.sampled_from([b"", b"  ", b"\r", b"not json", b"[1]", b'"text"', b"\xff{}", b'{"text": 1e400}'])
    | JSON_VALUES.map(lambda value: json.dumps(value).encode())
)


@settings(max_examples=500, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=8), LIMITS)
def test_an_ndjson_batch_is_read_as_the_reference_reads_it(lines, limits):
    body = b"\n".join(lines)
    if not any(line.strip() for line in body.split(b"\n")):
        return
    mine = batch.parse_ndjson_body(body, limits)
    theirs = reference.parse_ndjson_body(body, limits)
    assert mine.errors == theirs.errors
    assert [index for index, _ in mine.items] == [index for index, _ in theirs.items]
    for (_, left), (_, right) in zip(mine.items, theirs.items, strict=True):
        assert same_outcome(("record", left), ("record", right))


@settings(max_examples=300, deadline=None)
@given(st.lists(DOCUMENTS | VALUES, min_size=1, max_size=8), LIMITS)
def test_a_json_array_batch_is_read_as_the_reference_reads_it(documents, limits):
    body = json.dumps(documents, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        parsed = load_json(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return
    mine = batch.parse_json_body(body, limits)
    theirs = reference.parse_json_array(parsed, limits)
    assert mine.errors == theirs.errors
    for (left_index, left), (right_index, right) in zip(mine.items, theirs.items, strict=True):
        assert left_index == right_index
        assert same_outcome(("record", left), ("record", right))


def test_the_parsers_record_factory_makes_the_dataclass_value_field_for_field():
    made = intake_record("text", "acme", "log-1", "2026-11-30T10:00:00.000000+00:00", "info", {"host": "a"})
    assert made == IntakeRecord(
        text="text",
        tenant_id="acme",
        log_id="log-1",
        event_time="2026-11-30T10:00:00.000000+00:00",
        severity="info",
        attributes={"host": "a"},
    )
    assert list(vars(made)) == [field.name for field in dataclasses.fields(IntakeRecord)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.text = "changed"


@settings(max_examples=800, deadline=None)
@given(st.integers(min_value=-5, max_value=2**64 - 1) | st.integers(min_value=10**18, max_value=2 * 10**18))
def test_unix_nanoseconds_are_read_as_the_reference_reads_them(nanoseconds):
    assert fields.event_time_from_unix_nano(nanoseconds) == reference.event_time_from_unix_nano(nanoseconds)
    assert fields.event_time_from_unix_nano(nanoseconds) == reference.event_time_from_unix_nano(nanoseconds)


OTLP_KEYS = st.sampled_from(["host", "trace_id", "span_id", otlp.UID_ATTRIBUTE, "otel.scope.name", "k", ""])
ANY_VALUES = st.recursive(
    st.builds(
        lambda text: AnyValue(string_value=text),
        st.text(alphabet="ab é\x00\t_.", max_size=12) | st.sampled_from(["log-7", "a/b", "x" * 20]),
    )
    | st.builds(lambda number: AnyValue(int_value=number), st.integers(-(2**63), 2**63 - 1))
    | st.builds(lambda number: AnyValue(double_value=number), st.floats())
    | st.builds(lambda flag: AnyValue(bool_value=flag), st.booleans())
    | st.builds(lambda raw: AnyValue(bytes_value=raw), st.binary(max_size=4))
    | st.just(AnyValue()),
    lambda children: (
        st.builds(
            lambda values: AnyValue(array_value=ArrayValue(values=values)), st.lists(children, max_size=3)
        )
        | st.builds(
            lambda pairs: AnyValue(
                kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in pairs])
            ),
            st.lists(st.tuples(OTLP_KEYS, children), max_size=3),
        )
    ),
    max_leaves=6,
)
KEY_VALUES = st.lists(
    st.builds(lambda key, value: KeyValue(key=key, value=value), OTLP_KEYS, ANY_VALUES), max_size=4
)
LOG_RECORDS = st.builds(
    lambda body, attributes, trace, span, time, observed, text, number: LogRecord(
        body=body,
        attributes=attributes,
        trace_id=trace,
        span_id=span,
        time_unix_nano=time,
        observed_time_unix_nano=observed,
        severity_text=text,
        severity_number=number,
    ),
    st.none() | ANY_VALUES,
    KEY_VALUES,
    st.sampled_from([b"", b"\x01" * 16, b"\x02" * 5]),
    st.sampled_from([b"", b"\x03" * 8, b"\x04" * 3]),
    st.sampled_from([0, 1764496800123456789, 2**64 - 1]) | st.integers(0, 2**64 - 1),
    st.sampled_from([0, 1764496800000000000]),
    st.sampled_from(["", " INFO ", "x" * 40]),
    st.sampled_from([0, 9, 17, 99]),
)
SCOPE_LOGS = st.builds(
    lambda name, version, attributes, records: ScopeLogs(
        scope=InstrumentationScope(name=name, version=version, attributes=attributes), log_records=records
    ),
    st.sampled_from(["", "bench"]),
    st.sampled_from(["", "1.0"]),
    KEY_VALUES,
    st.lists(LOG_RECORDS, max_size=4),
)
REQUESTS = st.builds(
    lambda resources: ExportLogsServiceRequest(resource_logs=resources),
    st.lists(
        st.builds(
            lambda attributes, scopes: ResourceLogs(
                resource=Resource(attributes=attributes), scope_logs=scopes
            ),
            KEY_VALUES,
            st.lists(SCOPE_LOGS, max_size=2),
        ),
        max_size=2,
    ),
)


@settings(max_examples=500, deadline=None)
@given(REQUESTS, LIMITS)
def test_an_otlp_request_is_read_as_the_reference_reads_it(request, limits):
    mine = otlp.records_from_request(request, limits)
    theirs = reference.records_from_request(request, limits)
    assert mine.errors == theirs.errors
    assert [index for index, _ in mine.items] == [index for index, _ in theirs.items]
    for (_, left), (_, right) in zip(mine.items, theirs.items, strict=True):
        assert same_outcome(("record", left), ("record", right))
