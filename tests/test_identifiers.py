"""Identifiers: the form tenant and log ids must take, and the ids the service generates."""

from __future__ import annotations

import uuid

import pytest

from core.identifiers import identifier_error, is_valid_identifier, random_uuid4s


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
