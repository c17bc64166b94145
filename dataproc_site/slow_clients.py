"""gunicorn's gthread worker, with every request read whole by the event loop before a thread takes it.

gthread (gunicorn 27) gives a connection to a pool thread once its first byte has
arrived; the thread then reads the request line, the headers and (through the
application) the body with blocking reads and no overall deadline. A client that
trickles its bytes keeps that thread for as long as it likes: four connections
sending a byte every 2 s held ``/health`` up for 55 s. gunicorn has no setting
for it (its worker data timeout bounds only the wait for the first byte and the
drain of an unread body; ``timeout`` is the worker heartbeat).

``BufferingThreadWorker`` reads in the worker's event loop instead, as a
buffering proxy would: it takes whatever has arrived, without blocking, until
the request is complete (its head, then a body of ``Content-Length`` bytes or
chunked up to its last chunk), and only then hands the connection to a thread,
which finds the whole request in the parser's buffer. A slow client holds a
socket and a buffer, never a thread. The loop answers itself, and closes:

- ``408`` when the request has not fully arrived ``REQUEST_READ_TIMEOUT_SECONDS``
  after the worker took the connection up, or arrives slower on average than
  ``REQUEST_MIN_BYTES_PER_SECOND`` once ``REQUEST_MIN_RATE_GRACE_SECONDS`` have
  passed (a connection that sent nothing is just closed);
- ``413`` when the body is larger than ``REQUEST_MAX_BUFFERED_BYTES`` (declared
  or counted), which is above every body size the application accepts.

The head is parsed with gunicorn's own parser, so a request gunicorn would refuse
goes to a thread at once and is refused there, from bytes already buffered. TLS,
HTTP/2 and the PROXY protocol are left to gthread as it is (Cloud Run ends TLS and
speaks HTTP/1.1 to the container unless HTTP/2 end-to-end is switched on). A
connection closed after its response lingers in the loop to drain what the client
still sends, instead of gthread's blocking close on the loop's thread.

This builds on gthread's internals (``accept``, ``enqueue_req``, ``murder_pending``,
``TConn``), pinned with gunicorn in requirements.txt; the slow-client test runs it
under the real gunicorn.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from functools import partial

from gunicorn.http.body import ChunkedReader, LengthReader
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE, Request
from gunicorn.http.unreader import IterUnreader
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import TConn, ThreadWorker

logger = logging.getLogger(__name__)

RECV_BYTES = 64 * 1024
# Reads per connection per turn of the loop (1 MiB), so one fast upload does not starve the rest.
RECVS_PER_TURN = 16
# After its last response, a closed connection is drained this long (and this much) at most.
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 64 * 1024

PENDING = "pending"  # more bytes needed
READY = "ready"  # the whole request is buffered
HAND_OVER = "hand_over"  # gunicorn refuses it, from what is buffered
TOO_LARGE = "too_large"

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


@dataclass(frozen=True)
class ReadLimits:
    timeout_seconds: float
    min_bytes_per_second: float
    grace_seconds: float
    max_buffered_bytes: int

    @classmethod
    def from_settings(cls) -> ReadLimits:
        from django.conf import settings

        return cls(
            timeout_seconds=settings.REQUEST_READ_TIMEOUT_SECONDS,
            min_bytes_per_second=settings.REQUEST_MIN_BYTES_PER_SECOND,
            grace_seconds=settings.REQUEST_MIN_RATE_GRACE_SECONDS,
            max_buffered_bytes=settings.REQUEST_MAX_BUFFERED_BYTES,
        )


class _ChunkedEnd:
    """Finds where a chunked body ends (RFC 9112 section 7.1) as its bytes arrive.

    It only looks for the end: anything malformed is left to gunicorn's own reader,
    which refuses it from the buffered bytes.
    """

    def __init__(self, start: int, line_limit: int, trailer_limit: int) -> None:
        self.position = start
        self.line_limit = line_limit
        self.trailer_limit = trailer_limit
        self.state = "size"
        self.chunk_left = 0
        self.end: int | None = None

    def advance(self, buffer: bytearray) -> str:
        while True:
            if self.state == "size":
                line_end = buffer.find(b"\r\n", self.position)
                if line_end < 0:
                    return HAND_OVER if len(buffer) - self.position > self.line_limit else PENDING
                size = bytes(buffer[self.position : line_end]).split(b";", 1)[0].rstrip(b" \t")
                if not size or not _HEX_DIGITS.issuperset(size):
                    return HAND_OVER
                self.position = line_end + 2
                self.chunk_left = int(size, 16)
                self.state = "data" if self.chunk_left else "trailers"
            elif self.state == "data":
                after = self.position + self.chunk_left + 2
                if len(buffer) < after:
                    return PENDING
                if buffer[after - 2 : after] != b"\r\n":
                    return HAND_OVER
                self.position = after
                self.state = "size"
            else:
                if buffer[self.position : self.position + 2] == b"\r\n":
                    self.end = self.position + 2
                    return READY
                blank = buffer.find(b"\r\n\r\n", self.position)
                if blank >= 0:
                    self.end = blank + 4
                    return READY
                return HAND_OVER if len(buffer) - self.position > self.trailer_limit else PENDING


class Intake:
    """One request's bytes as they arrive on a connection, and whether they make a whole request yet."""

    def __init__(self, cfg, client, limits: ReadLimits, *, started: float, request_number: int = 1) -> None:
        self.cfg = cfg
        self.client = client
        self.limits = limits
        self.started = started
        self.request_number = request_number
        self.buffer = bytearray()
        self.verdict = PENDING
        self.request_line = ""
        self.expects_continue = False
        self._head_scanned = 0
        self._head_end: int | None = None
        self._body_length: int | None = None
        self._chunked: _ChunkedEnd | None = None
        self._head_limit, self._field_limit, self._fields_limit = _head_limits(cfg)

    def feed(self, data: bytes) -> str:
        self.buffer += data
        if self.verdict == PENDING:
            self.verdict = self._advance()
        return self.verdict

    def overdue(self, now: float) -> str | None:
        """Why the request is to be cut off now, if it is."""
        elapsed = now - self.started
        if elapsed > self.limits.timeout_seconds:
            return "deadline"
        if (
            elapsed > self.limits.grace_seconds
            and len(self.buffer) < self.limits.min_bytes_per_second * elapsed
        ):
            return "too_slow"
        return None

    def _advance(self) -> str:
        if self._head_end is None:
            blank = self.buffer.find(b"\r\n\r\n", max(0, self._head_scanned - 3))
            self._head_scanned = len(self.buffer)
            if blank < 0:
                return HAND_OVER if len(self.buffer) > self._head_limit else PENDING
            self._head_end = blank + 4
            verdict = self._read_head(bytes(self.buffer[: self._head_end]))
            if verdict != PENDING:
                return verdict
        body = len(self.buffer) - self._head_end
        if self._chunked is not None:
            if body > self.limits.max_buffered_bytes:
                return TOO_LARGE
            return self._chunked.advance(self.buffer)
        return READY if body >= self._body_length else PENDING

    def _read_head(self, head: bytes) -> str:
        self.request_line = head.split(b"\r\n", 1)[0][:200].decode("latin-1")
        try:
            request = Request(self.cfg, IterUnreader([head]), self.client, self.request_number)
        except Exception:
            return HAND_OVER  # gunicorn will say what is wrong with it
        reader = request.body.reader
        self.expects_continue = request.version >= (1, 1) and any(
            name == "EXPECT" and value.lower() == "100-continue" for name, value in request.headers
        )
        if isinstance(reader, ChunkedReader):
            self._chunked = _ChunkedEnd(self._head_end, self._field_limit, self._fields_limit)
            return PENDING
        if isinstance(reader, LengthReader):
            self._body_length = reader.length
            return TOO_LARGE if reader.length > self.limits.max_buffered_bytes else PENDING
        return HAND_OVER

    @property
    def awaits_body(self) -> bool:
        return self.verdict == PENDING and self._head_end is not None


def _head_limits(cfg) -> tuple[int, int, int]:
    """(request line + header section, one chunk-size line, a trailer section): gunicorn's bounds."""
    line = cfg.limit_request_line
    line = 1024 * 1024 if line == 0 else MAX_REQUEST_LINE if line < 0 or line > MAX_REQUEST_LINE else line
    fields = cfg.limit_request_fields if 0 < cfg.limit_request_fields <= MAX_HEADERS else MAX_HEADERS
    field_size = (
        cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE
    )
    header_section = fields * (field_size + 2) + 4
    return line + 2 + header_section, field_size, header_section


def error_response(status: int, reason: str, code: str, detail: str) -> bytes:
    body = json.dumps({"error": code, "detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _Conn(TConn):
    """A connection whose closing after a response never blocks the event loop."""

    def __init__(self, *args, linger) -> None:
        super().__init__(*args)
        self._linger = linger

    def close(self, graceful: bool = False) -> None:
        if graceful and self._linger is not None:
            self._linger(self)
        else:
            super().close(graceful)


class BufferingThreadWorker(ThreadWorker):
    """gthread whose threads only ever get whole requests (see the module)."""

    def init_process(self) -> None:
        self._intakes: dict[TConn, Intake] = {}
        self._lingering: dict[TConn, list[float]] = {}
        self._loop_thread = threading.get_ident()
        self.limits: ReadLimits | None = None
        super().init_process()

    def run(self) -> None:
        # The application is loaded by now (Django set up): read the limits once.
        self.limits = ReadLimits.from_settings()
        super().run()

    def accept(self, listener) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        conn = _Conn(self.cfg, client_sock, client_addr, listener.getsockname(), linger=self._linger_close)
        self.enqueue_req(conn)

    def enqueue_req(self, conn) -> None:
        if self.limits is None or not self._buffers(conn):
            super().enqueue_req(conn)
            return
        parser = conn.parser
        intake = Intake(
            self.cfg,
            conn.client,
            self.limits,
            started=time.monotonic(),
            request_number=parser.req_count + 1 if parser is not None else 1,
        )
        # Bytes a client pipelined behind its previous request are this one's start.
        leftover = parser.unreader.take_buffered() if parser is not None else b""
        if leftover and self._settle(conn, intake, intake.feed(leftover)):
            return
        self._intakes[conn] = intake
        conn.sock.setblocking(False)
        # The bytes are usually there already (a kept-alive connection turned readable, a new
        # one sent its request with its handshake): read them now, not a turn of the loop later.
        if not self._receive(conn):
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _buffers(self, conn) -> bool:
        return (
            not self.cfg.is_ssl
            and not conn.is_http2
            and getattr(self.cfg, "protocol", "http") == "http"
            and self.cfg.proxy_protocol in ("off", False, None)
            and not negotiation.prior_knowledge_allowed(self.cfg, conn.client)
        )

    def _on_readable(self, conn, _sock) -> None:
        self._receive(conn)

    def _receive(self, conn) -> bool:
        """Take what has arrived; True once the connection has left the intake."""
        intake = self._intakes[conn]
        for _ in range(RECVS_PER_TURN):
            try:
                data = conn.sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                # The client went away mid-request: nothing to answer.
                self._drop(conn)
                self.nr_conns -= 1
                conn.close()
                return True
            verdict = intake.feed(data)
            if verdict != PENDING:
                self._drop(conn)
                self._settle(conn, intake, verdict)
                return True
        self._continue_if_expected(conn, intake)
        return False

    def _continue_if_expected(self, conn, intake: Intake) -> None:
        """``Expect: 100-continue``: the client waits for this before it sends the body."""
        if intake.expects_continue and intake.awaits_body:
            intake.expects_continue = False
            self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _settle(self, conn, intake: Intake, verdict: str) -> bool:
        """Act on a request that needs no more bytes; False if it does."""
        if verdict in (READY, HAND_OVER):
            conn.init()
            conn.parser.unreader.unread(bytes(intake.buffer))
            conn.data_ready = True
            super().enqueue_req(conn)
            return True
        if verdict == TOO_LARGE:
            limit = self.limits.max_buffered_bytes
            self._refuse(
                conn,
                intake,
                "too_large",
                error_response(
                    413, "Content Too Large", "payload_too_large", f"The body is larger than {limit} bytes."
                ),
            )
            return True
        return False

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn, intake in list(self._intakes.items()):
            # A stopping worker does not wait for a request that has not begun.
            reason = "stopping" if not self.alive and not intake.buffer else intake.overdue(now)
            if reason is None:
                continue
            self._drop(conn)
            if not intake.buffer:
                self.nr_conns -= 1
                conn.close()  # it never started a request
                continue
            detail = (
                f"The request did not arrive within {self.limits.timeout_seconds:g} s."
                if reason == "deadline"
                else f"The request arrived slower than {self.limits.min_bytes_per_second:g} bytes per second."
            )
            self._refuse(
                conn, intake, reason, error_response(408, "Request Timeout", "request_timeout", detail)
            )
        for conn, (deadline, _drained) in list(self._lingering.items()):
            if now > deadline:
                self._end_linger(conn)

    def _refuse(self, conn, intake: Intake, reason: str, response: bytes) -> None:
        logger.warning(
            "request refused before it reached the application",
            extra={
                "reason": reason,
                "request_line": intake.request_line.split("?", 1)[0],
                "bytes_received": len(intake.buffer),
                "seconds": round(time.monotonic() - intake.started, 3),
            },
        )
        self.nr_conns -= 1
        self._send(conn, response)
        self._linger_close(conn)

    def _drop(self, conn) -> None:
        self._intakes.pop(conn, None)
        self._unregister(conn)

    def _unregister(self, conn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    @staticmethod
    def _send(conn, payload: bytes) -> None:
        """Best effort, without blocking: a small answer fits a fresh socket's send buffer."""
        with contextlib.suppress(OSError):
            conn.sock.setblocking(False)
            conn.sock.send(payload)

    def _linger_close(self, conn) -> None:
        """Half-close, then drain what the client still sends in the loop, so our last answer is not reset."""
        if threading.get_ident() != self._loop_thread:
            TConn.close(conn, graceful=True)
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger_readable, conn))
        except (OSError, KeyError, ValueError):
            TConn.close(conn)
            return
        self._lingering[conn] = [time.monotonic() + LINGER_SECONDS, 0]

    def _on_linger_readable(self, conn, _sock) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        state = self._lingering.get(conn)
        if state is None:
            return
        state[1] += len(data)
        if not data or state[1] >= LINGER_MAX_BYTES:
            self._end_linger(conn)

    def _end_linger(self, conn) -> None:
        self._lingering.pop(conn, None)
        self._unregister(conn)
        TConn.close(conn)
