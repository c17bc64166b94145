"""Shippers' field names into one record: text, identifiers, event time, severity, bounded attributes."""

import pytest

from ingest.formats.fields import (
    DROPPED_ATTRIBUTES,
    TRUNCATED_ATTRIBUTES,
    bound_attributes,
    event_time_from_unix_nano,
    parse_event_time,
    record_from_object,
)
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import (
    INVALID_LOG_ID,
    INVALID_RECORD,
    INVALID_TENANT_ID,
    INVALID_TEXT,
    MISSING_TEXT,
    TEXT_TOO_LONG,
    IntakeRecord,
    RecordInvalid,
)

LIMITS = IntakeLimits()


def record(document, limits=LIMITS) -> IntakeRecord:
    return record_from_object(document, limits)


def rejection(document, limits=LIMITS) -> RecordInvalid:
    with pytest.raises(RecordInvalid) as excinfo:
        record_from_object(document, limits)
    return excinfo.value


# -- the seed contract and the shippers --------------------------------------------------


def test_the_seed_contract_object_is_one_record_without_attributes():
    assert record({"tenant_id": "acme", "log_id": "123", "text": "User 555-0199 accessed the system"}) == (
        IntakeRecord(tenant_id="acme", log_id="123", text="User 555-0199 accessed the system")
    )


def test_vector_http_sink_fields():
    document = {
        "message": "GET /health 200",
        "timestamp": "2024-05-01T12:00:00.123456789Z",
        "host": "web-1",
        "source_type": "file",
        "file": "/var/log/app.log",
    }

    assert record(document) == IntakeRecord(
        text="GET /health 200",
        event_time="2024-05-01T12:00:00.123456+00:00",
        attributes={"host": "web-1", "source_type": "file", "file": "/var/log/app.log"},
    )


def test_fluent_bit_json_lines_fields():
    document = {"date": 1714564800.25, "log": "disk full on /dev/sda1", "stream": "stderr"}

    assert record(document) == IntakeRecord(
        text="disk full on /dev/sda1",
        event_time="2024-05-01T12:00:00.250000+00:00",
        attributes={"stream": "stderr"},
    )


def test_fluent_bit_kubernetes_metadata_is_kept_as_compact_json_text():
    document = {"log": "x", "kubernetes": {"pod_name": "api-1", "labels": {"app": "api"}}}

    assert record(document).attributes == {"kubernetes": '{"pod_name":"api-1","labels":{"app":"api"}}'}


@pytest.mark.parametrize("name", ["text", "message", "log", "msg", "body"])
def test_each_text_field_name_is_the_text(name):
    assert record({name: "hello"}).text == "hello"


def test_the_first_text_field_in_order_wins_and_the_others_stay_attributes():
    chosen = record({"body": "b", "msg": "m", "message": "the message"})

    assert chosen.text == "the message"
    assert chosen.attributes == {"body": "b", "msg": "m"}


def test_a_text_field_that_is_not_a_string_gives_way_to_one_that_is():
    chosen = record({"message": {"structured": True}, "log": "plain"})

    assert chosen.text == "plain"
    assert chosen.attributes == {"message": '{"structured":true}'}


@pytest.mark.parametrize(
    ("document", "code", "detail"),
    [
        ({"tenant_id": "acme"}, MISSING_TEXT, "text is required (as one of text, message, log, msg, body)."),
        ({"text": 5}, INVALID_TEXT, "text must be a string."),
        ({"message": None}, INVALID_TEXT, "message must be a string."),
        ({"text": "   "}, INVALID_TEXT, "text must not be empty."),
        ({"log": "a\x00b"}, INVALID_TEXT, "log must not contain NUL characters."),
        (
            {"text": "a\ud800b"},
            INVALID_TEXT,
            "text must be valid Unicode (it contains an unpaired surrogate).",
        ),
        (["text"], INVALID_RECORD, "expected a JSON object, not an array."),
        ("text", INVALID_RECORD, "expected a JSON object, not a string."),
        (5, INVALID_RECORD, "expected a JSON object, not a number."),
        (None, INVALID_RECORD, "expected a JSON object, not null."),
    ],
)
def test_it_rejects_records_without_usable_text(document, code, detail):
    invalid = rejection(document)

    assert (invalid.code, invalid.detail) == (code, detail)


def test_text_over_the_limit_is_rejected_not_cut():
    limits = IntakeLimits(max_text_chars=10)

    assert record({"text": "x" * 10}, limits).text == "x" * 10
    invalid = rejection({"text": "x" * 11}, limits)
    assert (invalid.code, invalid.detail) == (TEXT_TOO_LONG, "text is 11 characters; the limit is 10.")


# -- identifiers ---------------------------------------------------------------------------


def test_tenant_and_log_id_are_optional():
    chosen = record({"text": "x"})

    assert (chosen.tenant_id, chosen.log_id) == (None, None)


def test_null_identifiers_are_absent():
    chosen = record({"text": "x", "tenant_id": None, "log_id": None})

    assert (chosen.tenant_id, chosen.log_id, chosen.attributes) == (None, None, {})


@pytest.mark.parametrize("value", ["", "..", "a/b", "__name__", "x" * 129, 5, ["acme"]])
@pytest.mark.parametrize(("name", "code"), [("tenant_id", INVALID_TENANT_ID), ("log_id", INVALID_LOG_ID)])
def test_identifiers_follow_the_identifier_rules(name, code, value):
    invalid = rejection({"text": "x", name: value})

    assert invalid.code == code
    assert invalid.detail.startswith(f"{name} m")


# -- event time -------------------------------------------------------------------------------

MAY_1 = "2024-05-01T12:00:00.000000+00:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 3339, any offset, any fraction
        ("2024-05-01T12:00:00Z", MAY_1),
        ("2024-05-01T12:00:00z", MAY_1),
        ("2024-05-01t12:00:00Z", MAY_1),
        ("2024-05-01 12:00:00Z", MAY_1),
        ("2024-05-01T14:00:00+02:00", MAY_1),
        ("2024-05-01T07:30:00-04:30", MAY_1),
        ("2024-05-01T14:00:00+0200", MAY_1),
        ("2024-05-01T12:00:00.5Z", "2024-05-01T12:00:00.500000+00:00"),
        ("2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.123456+00:00"),
        ("2024-05-01T00:30:00+01:00", "2024-04-30T23:30:00.000000+00:00"),
        # no offset: UTC (Fluent Bit's java_sql_timestamp, some loggers)
        ("2024-05-01T12:00:00", MAY_1),
        ("2024-05-01 12:00:00.123456", "2024-05-01T12:00:00.123456+00:00"),
        # a leap second is the last instant of its minute
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999+00:00"),
        # epoch seconds, milliseconds, microseconds, nanoseconds; numbers and strings
        (1714564800, MAY_1),
        (1714564800.5, "2024-05-01T12:00:00.500000+00:00"),
        (1714564800000, MAY_1),
        (1714564800123, "2024-05-01T12:00:00.123000+00:00"),
        (1714564800000000, MAY_1),
        (1714564800000000000, MAY_1),
        (1714564800123456789, "2024-05-01T12:00:00.123456+00:00"),
        (1.7145648e18, MAY_1),
        ("1714564800", MAY_1),
        (" 1714564800.25 ", "2024-05-01T12:00:00.250000+00:00"),
        ("1714564800000", MAY_1),
        ("1714564800000000000", MAY_1),
        (0, "1970-01-01T00:00:00.000000+00:00"),
        (-86400, "1969-12-31T00:00:00.000000+00:00"),
    ],
)
def test_it_reads_every_timestamp_form_as_rfc3339_utc(value, expected):
    assert parse_event_time(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "yesterday",
        "Dec  1 08:59:00",
        "2024-05-01",
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-05-01T25:00:00Z",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00Z trailing",
        "1e9",
        "12345678901234567890123",
        10**25,
        float("nan"),
        float("inf"),
        {"seconds": 1},
        [1714564800],
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_what_is_not_a_timestamp_reads_as_none(value):
    assert parse_event_time(value) is None


@pytest.mark.parametrize("name", ["timestamp", "@timestamp", "time", "date"])
def test_each_time_field_name_is_the_event_time(name):
    chosen = record({"text": "x", name: "2024-05-01T12:00:00Z"})

    assert (chosen.event_time, chosen.attributes) == (MAY_1, {})


def test_the_first_readable_time_field_wins_and_an_unreadable_one_stays_an_attribute():
    chosen = record({"text": "x", "timestamp": "last tuesday", "time": 1714564800, "date": 1})

    assert chosen.event_time == MAY_1
    assert chosen.attributes == {"timestamp": "last tuesday", "date": 1}


def test_no_time_field_leaves_the_event_time_empty():
    assert record({"text": "x"}).event_time == ""


def test_otlp_nanoseconds_read_as_rfc3339_utc():
    assert event_time_from_unix_nano(1714564800123456789) == "2024-05-01T12:00:00.123456+00:00"
    assert event_time_from_unix_nano(0) == ""
    assert event_time_from_unix_nano(2**64 - 1) == "2554-07-21T23:34:33.709551+00:00"  # fixed64 max


# -- severity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "severity", "attributes"),
    [
        ({"level": "info"}, "info", {}),
        ({"severity": "ERROR"}, "ERROR", {}),
        ({"level": " warn "}, "warn", {}),
        ({"level": 30}, "30", {}),
        ({"level": "debug", "severity": "DEBUG"}, "debug", {"severity": "DEBUG"}),
        ({"level": {"name": "x"}, "severity": "WARN"}, "WARN", {"level": '{"name":"x"}'}),
        ({"level": "x" * 32}, "x" * 32, {}),
        ({"level": "x" * 33}, "", {"level": "x" * 33}),
        ({"level": True}, "", {"level": True}),
        ({"level": ""}, "", {"level": ""}),
    ],
)
def test_level_or_severity_is_the_severity(document, severity, attributes):
    chosen = record({"text": "x", **document})

    assert (chosen.severity, chosen.attributes) == (severity, attributes)


# -- attributes -----------------------------------------------------------------------------------


def test_attribute_values_are_json_scalars_or_compact_json_text():
    chosen = record(
        {
            "text": "x",
            "count": 3,
            "ratio": 0.5,
            "ok": False,
            "nothing": None,
            "tags": ["a", "é"],
            "nested": {"a": [1, {"b": None}]},
            "big": 2**64,
            "small": -(2**63),
        }
    )

    assert chosen.attributes == {
        "count": 3,
        "ratio": 0.5,
        "ok": False,
        "nothing": None,
        "tags": '["a","é"]',
        "nested": '{"a":[1,{"b":null}]}',
        "big": str(2**64),
        "small": -(2**63),
    }


def test_attributes_past_the_count_bound_are_dropped_and_counted():
    limits = IntakeLimits(max_attributes=3)

    kept = bound_attributes({f"a{number}": number for number in range(5)}, limits)

    assert kept == {"a0": 0, "a1": 1, "a2": 2, DROPPED_ATTRIBUTES: 2}


@pytest.mark.parametrize(
    "key",
    ["", "k" * 9, "a\x00b", "a\ud800", "__name__", DROPPED_ATTRIBUTES, TRUNCATED_ATTRIBUTES],
)
def test_attributes_with_unusable_keys_are_dropped_and_counted(key):
    limits = IntakeLimits(max_attribute_key_chars=8)

    assert bound_attributes({key: "v", "ok": "v"}, limits) == {"ok": "v", DROPPED_ATTRIBUTES: 1}


def test_a_key_of_exactly_the_key_bound_is_kept():
    assert bound_attributes({"k" * 8: 1}, IntakeLimits(max_attribute_key_chars=8)) == {"k" * 8: 1}


def test_long_string_values_are_cut_and_counted():
    limits = IntakeLimits(max_attribute_value_chars=4)

    kept = bound_attributes({"short": "abcd", "long": "abcdef", "nested": {"a": "bcdef"}}, limits)

    assert kept == {"short": "abcd", "long": "abcd", "nested": '{"a"', TRUNCATED_ATTRIBUTES: 2}


@pytest.mark.parametrize("value", ["a\x00b", "a\udc00", ["a\udc00"]])
def test_values_that_cannot_be_stored_are_dropped_and_counted(value):
    assert bound_attributes({"bad": value, "ok": 1}, LIMITS) == {"ok": 1, DROPPED_ATTRIBUTES: 1}


def test_nul_inside_a_nested_value_is_escaped_not_dropped():
    assert bound_attributes({"nested": {"a": "\x00"}}, LIMITS) == {"nested": '{"a":"\\u0000"}'}


def test_attributes_past_the_total_size_bound_are_dropped_and_counted():
    limits = IntakeLimits(max_attributes_bytes=20)

    kept = bound_attributes({"a": "x" * 9, "b": "y" * 9, "c": 1}, limits)

    # a (10 bytes) fits, b (10 more) fills it exactly, c (2 more) does not.
    assert kept == {"a": "x" * 9, "b": "y" * 9, DROPPED_ATTRIBUTES: 1}


def test_attribute_bounds_count_utf8_bytes():
    limits = IntakeLimits(max_attributes_bytes=10)

    assert bound_attributes({"k": "éééé"}, limits) == {"k": "éééé"}  # 1 + 8 bytes
    assert bound_attributes({"k": "ééééé"}, limits) == {DROPPED_ATTRIBUTES: 1}  # 1 + 10 bytes


def test_a_record_with_many_attributes_keeps_its_text():
    limits = IntakeLimits(max_attributes=2)

    chosen = record({"text": "the log", **{f"f{number}": number for number in range(10)}}, limits)

    assert chosen.text == "the log"
    assert chosen.attributes == {"f0": 0, "f1": 1, DROPPED_ATTRIBUTES: 8}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_text_chars", 0),
        ("max_attributes", -1),
        ("max_batch_lines", "1000"),
        ("max_body_bytes", True),
    ],
)
def test_limits_must_be_positive_integers(name, value):
    with pytest.raises(ValueError, match=f"INGEST_{name.upper()} must be a positive integer"):
        IntakeLimits(**{name: value})


def test_limits_come_from_settings_where_defined(settings):
    settings.INGEST_MAX_TEXT_CHARS = 123
    settings.INGEST_MAX_BATCH_LINES = 7

    limits = IntakeLimits.from_settings()

    assert (limits.max_text_chars, limits.max_batch_lines) == (123, 7)
    assert limits.max_attributes == IntakeLimits().max_attributes
