"""Slow clients against the real gunicorn (``gunicorn.conf.py``): they are cut off, nobody else waits.

Thirty-two connections trickle their requests into a server of one worker with
eight threads: half send a byte every 2 s (below ``REQUEST_MIN_BYTES_PER_SECOND``),
half send fast enough but never finish (past ``REQUEST_READ_TIMEOUT_SECONDS``).
Meanwhile ``/health`` keeps answering at its usual latency and a normal upload is
accepted, and every trickler gets 408 within its limit. With plain gthread the
tricklers hold all eight threads and ``/health`` waits for them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

import pytest

from processing.models import QueueMessage
from tests.reliability.services import ApiServer, database_url, request, service_environment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEADLINE = 4.0
GRACE = 2.0
MIN_RATE = 100  # bytes per second
TRICKLERS_PER_KIND = 16
# The loop checks its connections once a second; the rest is this machine's scheduling.
SLACK = 2.0


@pytest.fixture
def api(tmp_path):
    env = service_environment(
        database_url(),
        REQUEST_READ_TIMEOUT_SECONDS=DEADLINE,
        REQUEST_MIN_RATE_GRACE_SECONDS=GRACE,
        REQUEST_MIN_BYTES_PER_SECOND=MIN_RATE,
    )
    server = ApiServer(env, tmp_path / "api.log", workers=1, threads=8)
    server.start()
    yield server
    server.stop()


@dataclass
class Trickler:
    """One connection sending ``piece`` every ``every`` seconds until the server answers or closes."""

    port: int
    piece: bytes
    every: float
    answer: bytes = b""
    ended_after: float | None = None
    thread: threading.Thread = field(init=False)

    HEAD = (
        b"POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        b"X-Tenant-ID: slow\r\nContent-Length: 100000\r\n\r\n"
    )

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(self.HEAD)
            while time.monotonic() - started < DEADLINE * 3:  # bounded whatever the server does
                readable, _, _ = select.select([connection], [], [], self.every)
                if readable:
                    with contextlib.suppress(OSError):
                        self.answer = connection.recv(4096)
                    break
                try:
                    connection.sendall(self.piece)
                except OSError:
                    break
        self.ended_after = time.monotonic() - started


def health_latencies(api: ApiServer, stop: threading.Event, latencies: list) -> None:
    while not stop.is_set():
        began = time.monotonic()
        status = api.get("/health", timeout=10)[0]
        latencies.append((status, time.monotonic() - began))
        stop.wait(0.1)


def test_thirty_two_slow_clients_are_cut_off_while_health_and_uploads_keep_their_latency(api):
    baseline = [api.get("/health") for _ in range(10)]
    assert {status for status, _, _ in baseline} == {200}
    too_slow = [Trickler(api.port, b"x", every=2.0) for _ in range(TRICKLERS_PER_KIND)]
    endless = [Trickler(api.port, b"x" * 60, every=0.25) for _ in range(TRICKLERS_PER_KIND)]
    for trickler in too_slow + endless:
        trickler.start()
    time.sleep(0.5)  # every trickler is connected and has sent its head

    latencies: list[tuple[int | None, float]] = []
    stop = threading.Event()
    poller = threading.Thread(target=health_latencies, args=(api, stop, latencies), daemon=True)
    poller.start()
    upload = request(
        "POST",
        api.base_url + "/ingest",
        body=json.dumps({"tenant_id": "fast", "log_id": "1", "text": "hello"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    for trickler in too_slow + endless:
        trickler.thread.join(DEADLINE * 3 + 5)
    stop.set()
    poller.join(15)

    assert len(latencies) >= 20
    assert {status for status, _ in latencies} == {200}
    assert max(latency for _, latency in latencies) < 1.0, sorted(latency for _, latency in latencies)[-5:]
    assert statistics.median(latency for _, latency in latencies) < 0.2
    assert upload[0] == 202, upload
    for trickler in too_slow:
        assert trickler.answer.startswith(b"HTTP/1.1 408 "), trickler.answer
        assert b'"error": "request_timeout"' in trickler.answer
        assert trickler.ended_after < GRACE + SLACK, "cut off once the grace period shows its rate"
    for trickler in endless:
        assert trickler.answer.startswith(b"HTTP/1.1 408 "), trickler.answer
        assert DEADLINE - 0.5 < trickler.ended_after < DEADLINE + SLACK
    refused = [line for line in api.json_lines() if line.get("message", "").startswith("request refused")]
    assert sorted({line["reason"] for line in refused}) == ["deadline", "too_slow"]


def test_uploads_in_pieces_chunked_with_expect_continue_and_kept_alive_are_served(api):
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    headers = {"Content-Type": "text/plain", "X-Tenant-ID": "acme"}
    answers = []

    # A body in three pieces, a little apart: slow, but well above the minimum rate.
    connection.putrequest("POST", "/ingest")
    for name, value in {**headers, "X-Log-ID": "pieces", "Content-Length": "14"}.items():
        connection.putheader(name, value)
    connection.endheaders(b"hell")
    for piece in (b"o 555", b"-0199"):
        time.sleep(0.3)
        connection.send(piece)
    answers.append(_answer(connection))
    # Chunked, on the same kept-alive connection.
    connection.request(
        "POST",
        "/ingest",
        body=iter([b"hello", b" world"]),
        headers={**headers, "X-Log-ID": "chunked"},
        encode_chunked=True,
    )
    answers.append(_answer(connection))
    # Expect: 100-continue: the loop says 100 before the body is sent.
    connection.putrequest("POST", "/ingest")
    for name, value in {
        **headers,
        "X-Log-ID": "expect",
        "Content-Length": "5",
        "Expect": "100-continue",
    }.items():
        connection.putheader(name, value)
    connection.endheaders()
    readable, _, _ = select.select([connection.sock], [], [], 5)
    interim = connection.sock.recv(64, socket.MSG_PEEK) if readable else b""
    connection.send(b"hello")
    answers.append(_answer(connection))
    connection.close()

    assert interim.startswith(b"HTTP/1.1 100 ")
    assert answers == [(202, "pieces"), (202, "chunked"), (202, "expect")]
    assert sorted(QueueMessage.objects.values_list("log_id", flat=True)) == ["chunked", "expect", "pieces"]


def test_a_body_over_the_buffer_limit_is_refused_before_it_is_sent(api):
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    connection.putrequest("POST", "/ingest")
    connection.putheader("Content-Type", "text/plain")
    connection.putheader("X-Tenant-ID", "acme")
    connection.putheader("Content-Length", str(50 * 1024 * 1024))
    connection.endheaders()
    response = connection.getresponse()

    assert response.status == 413
    assert json.loads(response.read())["error"] == "payload_too_large"
    connection.close()


def _answer(connection: http.client.HTTPConnection) -> tuple[int, str | None]:
    response = connection.getresponse()
    return response.status, json.loads(response.read()).get("log_id")
