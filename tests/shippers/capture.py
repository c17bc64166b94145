"""A tiny HTTP server on 127.0.0.1 that keeps every request a shipper sends and answers as told.

It stands in for dataproc where a test only needs to see what a real client puts on
the wire (the OpenTelemetry SDK's exporter, syslog-ng's http() destination):

    with CaptureServer(answer) as server:
        ... point the client at server.url("/v1/logs") ...
        server.wait_for(lambda requests: len(requests) >= 3)

``answer(request)`` returns (status, headers, body); by default every request gets
``202 {"status": "accepted"}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


Answer = Callable[[CapturedRequest], tuple[int, dict[str, str], bytes]]


def accept(request: CapturedRequest) -> tuple[int, dict[str, str], bytes]:
    return 202, {"Content-Type": "application/json"}, b'{"status":"accepted"}'


class CaptureServer:
    def __init__(self, answer: Answer = accept) -> None:
        self.answer = answer
        self.requests: list[CapturedRequest] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="capture-server", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(
        self, done: Callable[[list[CapturedRequest]], bool], timeout: float = 20.0
    ) -> list[CapturedRequest]:
        """The requests so far once ``done(requests)`` holds; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done(list(self.requests)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"gave up after {timeout} s with {len(self.requests)} requests captured"
                    )
                self._changed.wait(remaining)
            return list(self.requests)

    def _keep(self, request: CapturedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        capture = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as shippers use it

            def do_POST(self) -> None:
                request = CapturedRequest(
                    method=self.command,
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self._read_body(),
                )
                status, headers, body = capture.answer(request)
                capture._keep(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_PUT = do_POST

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def log_message(self, format: str, *args) -> None:  # the test's output stays quiet
                pass

        return Handler
