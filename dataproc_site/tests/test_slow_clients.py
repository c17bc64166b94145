"""The event loop's request reader: when a request is whole, too large, malformed, or overdue."""

import pytest
from gunicorn.config import Config

from dataproc_site.slow_clients import HAND_OVER, PENDING, READY, TOO_LARGE, Intake, ReadLimits

LIMITS = ReadLimits(timeout_seconds=10, min_bytes_per_second=100, grace_seconds=2, max_buffered_bytes=1000)
HEAD = b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"


def intake(started: float = 0.0) -> Intake:
    return Intake(Config(), ("203.0.113.1", 5000), LIMITS, started=started)


def feed_bytewise(reader: Intake, data: bytes) -> list[str]:
    return [reader.feed(data[index : index + 1]) for index in range(len(data))]


def test_a_request_with_a_content_length_is_ready_with_its_last_byte():
    request = HEAD + b"Content-Length: 5\r\n\r\nhello"

    verdicts = feed_bytewise(intake(), request)

    assert verdicts[:-1] == [PENDING] * (len(request) - 1)
    assert verdicts[-1] == READY


def test_a_request_without_a_body_is_ready_with_its_head():
    assert intake().feed(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n") == READY


def test_a_chunked_body_is_ready_after_its_last_chunk_and_trailers():
    body = b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"
    request = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body

    verdicts = feed_bytewise(intake(), request)

    assert verdicts[-1] == READY and set(verdicts[:-1]) == {PENDING}


def test_a_chunked_body_without_trailers_ends_at_the_empty_line():
    assert intake().feed(HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n") == READY


def test_a_pipelined_second_request_stays_in_the_buffer():
    two = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /ready HTTP/1.1\r\n"
    reader = intake()

    assert reader.feed(two) == READY
    assert bytes(reader.buffer) == two  # the parser gets all of it


@pytest.mark.parametrize(
    "head",
    [
        HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",  # ambiguous framing
        HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
        HEAD + b"Transfer-Encoding: gzip\r\n\r\n",
        b"NOT A REQUEST\r\n\r\n",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",  # not a chunk size
    ],
)
def test_what_gunicorn_refuses_goes_to_it_at_once(head):
    assert intake().feed(head) == HAND_OVER


def test_a_head_larger_than_gunicorn_accepts_goes_to_it_at_once():
    assert intake().feed(HEAD + b"X-Long: " + b"a" * 900_000) == HAND_OVER


def test_a_body_declared_or_counted_over_the_limit_is_too_large():
    assert intake().feed(HEAD + b"Content-Length: 1001\r\n\r\n") == TOO_LARGE
    chunked = intake()
    chunked.feed(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    assert chunked.feed(b"400\r\n" + b"a" * 1000) == TOO_LARGE


def test_expect_100_continue_is_noticed():
    reader = intake()

    assert reader.feed(HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n") == PENDING
    assert reader.expects_continue and reader.awaits_body


def test_a_request_is_overdue_past_the_deadline_or_below_the_rate_after_the_grace():
    reader = intake(started=100.0)
    reader.feed(HEAD + b"Content-Length: 900\r\n\r\n")  # 76 bytes

    assert reader.overdue(101.9) is None  # within the grace period, whatever the rate
    assert reader.overdue(102.5) == "too_slow"  # 76 bytes in 2.5 s < 100 B/s
    reader.feed(b"a" * 800)
    assert reader.overdue(105.0) is None
    assert reader.overdue(110.5) == "deadline"
