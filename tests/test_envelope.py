"""The envelope's wire form: what every queue backend carries, read back unchanged."""

from __future__ import annotations

import dataclasses
import json

import pytest

from core.envelope import SOURCE_JSON, LogEnvelope


def envelope(**changes) -> LogEnvelope:
    fields = {
        "tenant_id": "acme",
        "log_id": "log-1",
        "source": SOURCE_JSON,
        "text": "José called +1 415 555 2671 \u2603",
        "received_at": "2026-12-01T10:00:00.000000+00:00",
        "request_id": "req-1",
        "trace": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "event_time": "2026-12-01T09:59:59.123456+00:00",
        "severity": "info",
        "attributes": {"host": "web-1", "bytes": 3000000000, "ratio": 0.25, "ok": True, "none": None},
    }
    return LogEnvelope(**{**fields, **changes})


def test_to_dict_names_every_field_as_asdict_does():
    value = envelope()
    assert value.to_dict() == dataclasses.asdict(value)
    assert list(value.to_dict()) == [field.name for field in dataclasses.fields(LogEnvelope)]


def test_to_dict_does_not_share_the_attributes():
    value = envelope()
    value.to_dict()["attributes"]["host"] = "changed"
    assert value.attributes["host"] == "web-1"


@pytest.mark.parametrize("encode", [LogEnvelope.to_json, LogEnvelope.to_bytes])
def test_the_wire_form_is_compact_utf8_json_and_round_trips(encode):
    value = envelope()
    encoded = encode(value)
    text = encoded.decode("utf-8") if isinstance(encoded, bytes) else encoded
    assert text == json.dumps(dataclasses.asdict(value), ensure_ascii=False, separators=(",", ":"))
    assert LogEnvelope.from_json(encoded) == value


def test_an_integer_past_64_bits_is_written_as_json_writes_it():
    value = envelope(attributes={"huge": 2**70})
    assert json.loads(value.to_bytes())["attributes"]["huge"] == 2**70
    assert LogEnvelope.from_json(value.to_json()) == value


# The dataclass as the decorator would make it, with its generated __init__.
GENERATED = dataclasses.make_dataclass(
    "GeneratedEnvelope",
    [(field.name, field.type, field) for field in dataclasses.fields(LogEnvelope)],
    frozen=True,
)


def test_init_sets_every_field_in_order_as_the_generated_one_does():
    fields = dataclasses.asdict(envelope())
    assert vars(LogEnvelope(**fields)) == vars(GENERATED(**fields))
    assert list(vars(LogEnvelope(**fields))) == [field.name for field in dataclasses.fields(LogEnvelope)]
    positional = list(fields.values())
    assert LogEnvelope(*positional) == LogEnvelope(**fields)


def test_init_defaults_are_the_fields_defaults():
    made = LogEnvelope(tenant_id="acme", log_id="1", source=SOURCE_JSON, text="t")
    generated = GENERATED(tenant_id="acme", log_id="1", source=SOURCE_JSON, text="t")
    assert {**vars(made), "received_at": None} == {**vars(generated), "received_at": None}
    assert made.received_at.endswith("+00:00")
    assert len(made.received_at) == len(generated.received_at) == len("2026-12-01T10:00:00.000000+00:00")
    other = LogEnvelope(tenant_id="acme", log_id="2", source=SOURCE_JSON, text="t")
    assert made.attributes is not other.attributes
    assert (
        LogEnvelope(tenant_id="a", log_id="1", source=SOURCE_JSON, text="t", received_at=None).received_at
        is None
    )


def test_an_envelope_stays_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        envelope().text = "changed"
