"""Bodies of POST /ingest into records: one object, a JSON array, NDJSON; per-record errors by index."""

import json

import pytest

from core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ingest.formats.batch import (
    MEDIA_JSON,
    MEDIA_NDJSON,
    parse_batch,
    parse_json_body,
    parse_ndjson_body,
)
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import (
    INVALID_JSON,
    INVALID_RECORD,
    INVALID_TEXT,
    MISSING_TEXT,
    TEXT_TOO_LONG,
    IntakeRecord,
    ParsedBatch,
    RecordError,
)

LIMITS = IntakeLimits()


def ndjson(*documents) -> bytes:
    return "".join(json.dumps(document) + "\n" for document in documents).encode()


# -- application/json ---------------------------------------------------------------------


def test_one_object_is_a_single_record_as_the_seed_contract_has_it():
    batch = parse_json_body(b'{"tenant_id": "acme", "log_id": "123", "text": "User 555-0199"}', LIMITS)

    assert batch.single
    assert batch.items == ((0, IntakeRecord(tenant_id="acme", log_id="123", text="User 555-0199")),)
    assert batch.errors == ()


def test_one_invalid_object_is_a_single_batch_with_its_error():
    batch = parse_json_body(b'{"tenant_id": "acme", "log_id": "1"}', LIMITS)

    assert batch.single
    assert batch.errors == (
        RecordError(0, MISSING_TEXT, "text is required (as one of text, message, log, msg, body)."),
    )


def test_an_array_is_a_batch_in_order():
    body = json.dumps([{"message": "a", "host": "h1"}, {"message": "b"}, {"log": "c"}]).encode()

    batch = parse_json_body(body, LIMITS)

    assert not batch.single
    assert [(index, record.text) for index, record in batch.items] == [(0, "a"), (1, "b"), (2, "c")]
    assert batch.items[0][1].attributes == {"host": "h1"}


def test_invalid_items_of_an_array_are_errors_at_their_index_and_the_rest_go_on():
    body = json.dumps([{"message": "ok"}, "not an object", {"message": ""}, {"host": "h"}, {"msg": "ok"}])

    batch = parse_json_body(body.encode(), LIMITS)

    assert [index for index, _ in batch.items] == [0, 4]
    assert [(error.index, error.error) for error in batch.errors] == [
        (1, INVALID_RECORD),
        (2, INVALID_TEXT),
        (3, MISSING_TEXT),
    ]
    assert (batch.accepted, batch.rejected, batch.total) == (2, 3, 5)
    assert batch.error_dicts()[0] == {
        "index": 1,
        "error": INVALID_RECORD,
        "detail": "expected a JSON object, not a string.",
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "The body is empty"),
        (b"  \n", "The body is empty"),
        (b"[]", "The batch is empty"),
        (b'"text"', "expected a JSON log object or an array"),
        (b"5", "expected a JSON log object or an array"),
        (b"null", "expected a JSON log object or an array"),
        (b'{"text": "x"', "malformed JSON"),
        (b'{"text": "x", "n": NaN}', "malformed JSON: NaN is not a JSON value"),
        (b'[{"text": "x", "n": -Infinity}]', "malformed JSON: -Infinity is not a JSON value"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"text": "\xff"}', "not valid UTF-8 (byte 10)"),
    ],
)
def test_a_json_body_that_is_not_an_object_or_array_of_them_is_400(body, detail):
    with pytest.raises(InvalidRequest, match=detail.replace("(", r"\(").replace(")", r"\)")):
        parse_json_body(body, LIMITS)


def test_a_byte_order_mark_is_ignored():
    assert parse_json_body(b'\xef\xbb\xbf{"text": "x"}', LIMITS).records[0].text == "x"


def test_an_array_over_the_batch_limit_is_413():
    limits = IntakeLimits(max_batch_lines=3)

    assert parse_json_body(json.dumps([{"text": "x"}] * 3).encode(), limits).accepted == 3
    with pytest.raises(PayloadTooLarge, match="4 logs; the limit is 3"):
        parse_json_body(json.dumps([{"text": "x"}] * 4).encode(), limits)


# -- application/x-ndjson -------------------------------------------------------------------


def test_ndjson_lines_are_records_in_order():
    batch = parse_ndjson_body(ndjson({"message": "a"}, {"log": "b", "date": 1714564800}), LIMITS)

    assert [record.text for record in batch.records] == ["a", "b"]
    assert batch.records[1].event_time == "2024-05-01T12:00:00.000000+00:00"
    assert not batch.single


@pytest.mark.parametrize(
    "body",
    [
        b'{"text": "a"}\n{"text": "b"}',  # no trailing newline
        b'{"text": "a"}\n{"text": "b"}\n',
        b'{"text": "a"}\r\n{"text": "b"}\r\n',
        b'\n\n{"text": "a"}\n   \n\t\n{"text": "b"}\n\n',
        b'\xef\xbb\xbf{"text": "a"}\n{"text": "b"}\n',
    ],
)
def test_blank_lines_and_line_endings_do_not_matter(body):
    batch = parse_ndjson_body(body, LIMITS)

    assert [(index, record.text) for index, record in batch.items] == [(0, "a"), (1, "b")]


def test_a_line_that_is_not_json_is_an_invalid_record_at_its_index_not_a_malformed_body():
    body = b'{"text": "a"}\n\nnot json\n{"text": "b"}\n{"text": "\xff"}\n[1]\n{"text": NaN}\n'

    batch = parse_ndjson_body(body, LIMITS)

    assert [(index, record.text) for index, record in batch.items] == [(0, "a"), (2, "b")]
    assert [(error.index, error.error) for error in batch.errors] == [
        (1, INVALID_JSON),
        (3, INVALID_JSON),
        (4, INVALID_RECORD),
        (5, INVALID_JSON),
    ]
    # Indices count records; details name the physical line (blank lines included).
    assert batch.errors[0].detail.startswith("line 3: malformed JSON: Expecting value")
    assert batch.errors[1].detail == "line 5: not valid UTF-8 (byte 10)."
    assert batch.errors[2].detail == "line 6: expected a JSON object, not an array."
    assert batch.errors[3].detail == "line 7: malformed JSON: NaN is not a JSON value."


def test_every_line_invalid_is_still_a_batch_of_errors():
    batch = parse_ndjson_body(b"x\ny\n", LIMITS)

    assert (batch.accepted, batch.rejected) == (0, 2)


@pytest.mark.parametrize("body", [b"", b"\n\n", b"  \r\n"])
def test_an_empty_ndjson_body_is_400(body):
    with pytest.raises(InvalidRequest, match="The batch is empty"):
        parse_ndjson_body(body, LIMITS)


def test_ndjson_over_the_batch_limit_is_413_counting_only_records():
    limits = IntakeLimits(max_batch_lines=2)

    assert parse_ndjson_body(b'{"text": "a"}\n\n\n{"text": "b"}\n\n', limits).accepted == 2
    with pytest.raises(PayloadTooLarge, match="3 logs; the limit is 2"):
        parse_ndjson_body(b'{"text": "a"}\n{"text": "b"}\nnot even json\n', limits)


def test_an_oversize_log_is_rejected_alone():
    limits = IntakeLimits(max_text_chars=5)

    batch = parse_ndjson_body(ndjson({"text": "short"}, {"text": "much too long"}), limits)

    assert batch.records == [IntakeRecord(text="short")]
    assert batch.errors == (RecordError(1, TEXT_TOO_LONG, "line 2: text is 13 characters; the limit is 5."),)


def test_the_default_limit_takes_1000_lines_over_a_mebibyte():
    line = {"message": "x" * 1100, "host": "web-1", "timestamp": "2024-05-01T12:00:00Z"}
    body = ndjson(*[line] * 1000)

    batch = parse_ndjson_body(body, LIMITS)

    assert len(body) > 1024 * 1024
    assert (batch.accepted, batch.rejected) == (1000, 0)


# -- dispatch and repeats ------------------------------------------------------------------------


def test_parse_batch_dispatches_on_the_media_type():
    assert parse_batch(MEDIA_JSON, b'{"text": "x"}', LIMITS).single
    assert not parse_batch(MEDIA_NDJSON, b'{"text": "x"}', LIMITS).single
    with pytest.raises(UnsupportedMediaType):
        parse_batch("text/csv", b"x", LIMITS)


def test_parsed_batch_collects_outcomes_by_position():
    batch = ParsedBatch.collect(
        [IntakeRecord(text="a"), RecordError(1, INVALID_JSON, "x"), IntakeRecord(text="c")]
    )

    assert [index for index, _ in batch.items] == [0, 2]
    assert batch.errors == (RecordError(1, INVALID_JSON, "x"),)


def test_ndjson_sent_as_application_json_is_read_as_ndjson():
    # Older Fluent Bit releases label their json_lines format application/json.
    batch = parse_batch(MEDIA_JSON, ndjson({"log": "a"}, {"log": "b"}) + b"{oops\n", LIMITS)

    assert [record.text for record in batch.records] == ["a", "b"]
    assert [(error.index, error.error) for error in batch.errors] == [(2, "invalid_json")]
    assert not batch.single


@pytest.mark.parametrize(
    "body", [b'{"text": "a"} trailing', b'{"text": "a"}}', b'{oops\n{"text": "b"}', b'[1]\n{"text": "b"}']
)
def test_other_malformed_json_stays_a_malformed_body(body):
    with pytest.raises(InvalidRequest, match="malformed JSON"):
        parse_batch(MEDIA_JSON, body, LIMITS)
