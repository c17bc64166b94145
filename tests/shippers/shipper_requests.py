"""Requests exactly as log shippers send them to an HTTP destination: headers, framing, field names, compression.

- Vector's ``http`` sink (src/sinks/http): ``encoding.codec: json`` frames events as a
  JSON array (``application/json``), with ``framing.method: newline_delimited`` as
  NDJSON (``application/x-ndjson``, a newline after each event); ``compression:
  gzip`` sets ``content-encoding: gzip``; events of a file source carry ``message``,
  ``timestamp`` (RFC 3339, nanoseconds, ``Z``), ``host``, ``file``, ``source_type``.
- Fluent Bit's ``http`` output (plugins/out_http): ``Format json`` is a JSON array and
  ``json_lines`` one object per line, each record with its time under ``date`` (epoch
  seconds as a float by default) and the line under ``log``; ``Compress gzip`` sets
  ``Content-Encoding: gzip``; ``User-Agent: Fluent-Bit``. Current releases label
  ``json_lines`` ``application/x-ndjson``, older ones ``application/json``.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ShipperRequest:
    name: str
    headers: dict[str, str]
    body: bytes
    messages: list[str]


def padded_message(number: int, size: int) -> str:
    """A log line of about ``size`` characters with a phone number in it (so redaction shows)."""
    head = f"User 555-01{number % 100:02d} logged in (request {number}) "
    return head + "x" * max(0, size - len(head))


def vector_events(count: int, *, size: int = 100, host: str = "web-1") -> list[dict]:
    events = []
    for number in range(count):
        moment = START + timedelta(milliseconds=number)
        events.append(
            {
                "file": "/var/log/app/app.log",
                "host": host,
                "message": padded_message(number, size),
                "source_type": "file",
                "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z",
            }
        )
    return events


def fluent_bit_records(count: int, *, size: int = 100) -> list[dict]:
    return [
        {
            "date": (START + timedelta(milliseconds=number)).timestamp(),
            "log": padded_message(number, size),
            "stream": "stdout",
            "kubernetes": {"pod_name": "api-7d9f", "namespace_name": "shop"},
        }
        for number in range(count)
    ]


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def vector_json_gzip(count: int, *, size: int, key: str) -> ShipperRequest:
    events = vector_events(count, size=size)
    return ShipperRequest(
        "vector json array + gzip",
        {
            "content-type": "application/json",
            "content-encoding": "gzip",
            "authorization": f"Bearer {key}",
            "user-agent": "Vector/0.44.0 (x86_64-unknown-linux-gnu)",
        },
        gzip.compress(b"[" + b",".join(_json(event) for event in events) + b"]"),
        [event["message"] for event in events],
    )


def vector_ndjson(count: int, *, size: int, key: str) -> ShipperRequest:
    events = vector_events(count, size=size, host="web-2")
    return ShipperRequest(
        "vector ndjson",
        {
            "content-type": "application/x-ndjson",
            "authorization": f"Bearer {key}",
            "user-agent": "Vector/0.44.0 (x86_64-unknown-linux-gnu)",
        },
        b"".join(_json(event) + b"\n" for event in events),
        [event["message"] for event in events],
    )


def fluent_bit_json_lines_gzip(
    count: int, *, size: int, key: str, legacy_type: bool = False
) -> ShipperRequest:
    records = fluent_bit_records(count, size=size)
    return ShipperRequest(
        "fluent bit json_lines + gzip" + (" (labelled application/json)" if legacy_type else ""),
        {
            "Content-Type": "application/json" if legacy_type else "application/x-ndjson",
            "Content-Encoding": "gzip",
            "User-Agent": "Fluent-Bit",
            "X-API-Key": key,
        },
        gzip.compress(b"".join(_json(record) + b"\n" for record in records)),
        [record["log"] for record in records],
    )


def fluent_bit_json(count: int, *, size: int, key: str) -> ShipperRequest:
    records = fluent_bit_records(count, size=size)
    return ShipperRequest(
        "fluent bit json",
        {"Content-Type": "application/json", "User-Agent": "Fluent-Bit", "X-API-Key": key},
        _json(records),
        [record["log"] for record in records],
    )
