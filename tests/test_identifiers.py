"""Identifiers: the form tenant and log ids must take, and the ids the service generates."""

from __future__ import annotations

import time
import uuid

import pytest

from core.identifiers import identifier_error, is_valid_identifier, random_uuid4s, time_ordered_uuids


@pytest.mark.parametrize("value", ["acme", "log-1", "a.b:c_d", "x" * 128])
def test_allowed_identifiers(value):
    assert identifier_error(value, "log_id") is None
    assert is_valid_identifier(value)


@pytest.mark.parametrize("value", ["", ".", "..", "__name__", "a/b", "x" * 129, 5, None])
def test_refused_identifiers_say_why(value):
    assert identifier_error(value, "log_id")
    assert not is_valid_identifier(value)


def test_random_uuid4s_are_canonical_version_4_uuids():
    generated = random_uuid4s(2000)
    assert len(generated) == len(set(generated)) == 2000
    for text in generated:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert is_valid_identifier(text)


def test_random_uuid4s_of_nothing_is_empty():
    assert random_uuid4s(0) == []


def test_random_uuid4s_are_the_uuids_of_their_random_bytes(monkeypatch):
    randomness = bytes(range(256))[:160] + bytes(range(255, 95, -1))
    monkeypatch.setattr("core.identifiers.os.urandom", lambda size: randomness[:size])
    expected = [
        str(uuid.UUID(bytes=randomness[start : start + 16], version=4)) for start in range(0, 320, 16)
    ]
    assert random_uuid4s(20) == expected


def test_time_ordered_uuids_are_canonical_version_7_uuids_of_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    generated = time_ordered_uuids(2000)
    after = time.time_ns() // 1_000_000
    assert len(generated) == len(set(generated)) == 2000
    for text in generated:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert before <= parsed.int >> 80 <= after  # unix_ts_ms, the top 48 bits
        assert is_valid_identifier(text)


def test_time_ordered_uuids_made_later_sort_after_earlier_ones():
    earlier = time_ordered_uuids(50)
    time.sleep(0.002)
    later = time_ordered_uuids(50)
    assert max(earlier) < min(later)
    assert max(uuid.UUID(text).bytes for text in earlier) < min(uuid.UUID(text).bytes for text in later)


def test_time_ordered_uuids_lay_out_the_time_and_random_bits_as_rfc_9562_says(monkeypatch):
    randomness = bytes(range(7, 247))
    millis = 0x0192_3456_789A
    monkeypatch.setattr("core.identifiers.os.urandom", lambda size: randomness[:size])
    monkeypatch.setattr("core.identifiers.time.time_ns", lambda: millis * 1_000_000 + 999_999)
    expected = []
    for start in range(0, 30, 10):
        random_bits = int.from_bytes(randomness[start : start + 10])  # 20 hex digits, 19 of them used
        rand_a = random_bits >> 68  # digits 0-2
        variant_digit = 0b1000 | (random_bits >> 64) & 0b11  # digit 3, its top two bits set to 10
        rand_b = (random_bits >> 4) & ((1 << 60) - 1)  # digits 4-18
        value = millis << 80 | 7 << 76 | rand_a << 64 | variant_digit << 60 | rand_b
        expected.append(value)
    assert [uuid.UUID(text).int for text in time_ordered_uuids(3)] == expected
    assert time_ordered_uuids(0) == []
