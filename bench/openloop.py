"""Open-loop load at a fixed rate, stdlib only (asyncio + raw HTTP/1.1 keep-alive).

Request ``i`` is due at ``start + i / rate`` whatever happened to earlier ones;
its latency is measured from that intended send time, not from when a free
connection let it go, so a stalled server shows up in the percentiles instead
of silently slowing the generator down (no coordinated omission, as in wrk2).

Run as ``python -m bench.openloop --url ... --rate ... --seconds ... --out FILE``;
the JSON written holds the summary and, with ``--records``, one row per request
(log id, tenant, text length, wall-clock time of the answer, status) for the
end-to-end and backlog figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.stats import percentiles

MAX_CONNECTIONS = 512
REQUEST_TIMEOUT_SECONDS = 10.0
# gunicorn closes a keep-alive connection idle for 5 s (gunicorn.conf.py); reusing
# one just then fails the request for the client's sake only, so retire them earlier.
IDLE_CONNECTION_SECONDS = 4.0
WORDS = [
    "user",
    "login",
    "failed",
    "from",
    "555-0199",
    "checkout",
    "order",
    "shipped",
    "alert",
    "disk",
    "at",
    "91%",
    "call",
    "+1",
    "415",
    "555",
    "0100",
]


@dataclass
class Outcome:
    index: int
    latency: float
    status: int  # 0: no HTTP answer (see error)
    error: str
    answered_at: float


def make_text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words)[:length]


class Requests:
    """Builds request ``i``: the kind (JSON or text), tenant, log id and text are fixed by ``i``."""

    def __init__(self, url: str, options: argparse.Namespace) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.options = options
        self.rng = random.Random(options.seed)

    def build(self, index: int) -> tuple[bytes, dict]:
        options = self.options
        tenant = f"bench-t{index % options.tenants:02d}"
        log_id = f"{options.prefix}-{index}"
        length = self.rng.randint(options.min_chars, options.max_chars)
        text = make_text(self.rng, length)
        as_json = options.mix == "json" or (options.mix == "half" and index % 2 == 0)
        if as_json:
            body = json.dumps({"tenant_id": tenant, "log_id": log_id, "text": text}).encode()
            headers = "Content-Type: application/json\r\n"
        else:
            body = text.encode()
            headers = f"Content-Type: text/plain\r\nX-Tenant-ID: {tenant}\r\nX-Log-ID: {log_id}\r\n"
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        return head + body, {"tenant_id": tenant, "log_id": log_id, "chars": len(text)}


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = False
        self.idle_since = time.monotonic()

    async def exchange(self, payload: bytes) -> tuple[int, bool]:
        """Send one request, read the whole answer; return (status, keep the connection)."""
        self.writer.write(payload)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        keep = True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                keep = False
        if length:
            await self.reader.readexactly(length)
        self.used = True
        return status, keep

    def close(self) -> None:
        self.writer.close()


class OpenLoop:
    def __init__(self, requests: Requests, rate: float, seconds: float) -> None:
        self.requests = requests
        self.rate = rate
        self.total = max(1, round(rate * seconds))
        self.idle: list[Connection] = []
        self.open_connections = 0
        self.freed = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.outcomes: list[Outcome] = []
        self.meta: list[dict] = []

    async def connection(self) -> Connection:
        while True:
            while self.idle:
                connection = self.idle.pop()  # most recently used first
                if time.monotonic() - connection.idle_since < IDLE_CONNECTION_SECONDS:
                    return connection
                connection.close()
                self.open_connections -= 1
            if self.open_connections < MAX_CONNECTIONS:
                self.open_connections += 1
                try:
                    reader, writer = await asyncio.open_connection(self.requests.host, self.requests.port)
                except OSError:
                    self.open_connections -= 1
                    raise
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return Connection(reader, writer)
            self.freed.clear()
            await self.freed.wait()

    def release(self, connection: Connection, keep: bool) -> None:
        if keep:
            connection.idle_since = time.monotonic()
            self.idle.append(connection)
        else:
            connection.close()
            self.open_connections -= 1
        self.freed.set()

    async def send(
        self, index: int, payload: bytes, intended: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        status, error = 0, ""
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                for attempt in range(2):
                    connection = await self.connection()
                    try:
                        status, keep = await connection.exchange(payload)
                        self.release(connection, keep)
                        break
                    except (asyncio.IncompleteReadError, ConnectionError) as exc:
                        # A kept-alive connection the server had already closed: nothing
                        # was processed, so the request goes again on a fresh connection.
                        reused = connection.used
                        self.release(connection, keep=False)
                        if not reused or attempt == 1:
                            error = type(exc).__name__
                            break
        except TimeoutError:
            error = "timeout"
        except OSError as exc:
            error = type(exc).__name__
        finally:
            self.in_flight -= 1
        self.outcomes.append(Outcome(index, loop.time() - intended, status, error, time.time()))

    async def run(self) -> float:
        loop = asyncio.get_running_loop()
        payloads = []
        for index in range(self.total):
            payload, meta = self.requests.build(index)
            payloads.append(payload)
            self.meta.append(meta)
        tasks = set()
        start = loop.time() + 0.1
        for index, payload in enumerate(payloads):
            intended = start + index / self.rate
            delay = intended - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.send(index, payload, intended, loop))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent_for = loop.time() - start
        while tasks:
            await asyncio.gather(*list(tasks))
        for connection in self.idle:
            connection.close()
        return sent_for


def summarise(loop_run: OpenLoop, sent_for: float, accepted_status: int) -> dict:
    outcomes = loop_run.outcomes
    latencies = [outcome.latency * 1000 for outcome in outcomes]
    failures: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.status != accepted_status:
            key = outcome.error or str(outcome.status)
            failures[key] = failures.get(key, 0) + 1
    figures = percentiles(latencies, (50, 95, 99, 100))
    # Answered at the offered rate only if the last answer came soon after the last send.
    last_answer = max((outcome.index / loop_run.rate + outcome.latency for outcome in outcomes), default=0)
    return {
        "target_rps": loop_run.rate,
        "sent": len(outcomes),
        "sent_rps": round(len(outcomes) / sent_for, 1) if sent_for else None,
        "answered_rps": round(len(outcomes) / last_answer, 1) if last_answer else None,
        "accepted": len(outcomes) - sum(failures.values()),
        "errors": sum(failures.values()),
        "error_detail": failures,
        "p50_ms": figures[50],
        "p95_ms": figures[95],
        "p99_ms": figures[99],
        "max_ms": figures[100],
        "max_in_flight": loop_run.max_in_flight,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--mix", choices=("json", "text", "half"), default="half")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--min-chars", type=int, default=33)
    parser.add_argument("--max-chars", type=int, default=33)
    parser.add_argument("--prefix", default="open")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--accepted-status", type=int, default=202)
    parser.add_argument("--records", action="store_true", help="write one row per request")
    parser.add_argument("--out", required=True)
    options = parser.parse_args()

    loop_run = OpenLoop(Requests(options.url, options), options.rate, options.seconds)
    sent_for = asyncio.run(loop_run.run())
    result = {"summary": summarise(loop_run, sent_for, options.accepted_status)}
    if options.records:
        result["records"] = [
            {**loop_run.meta[o.index], "status": o.status, "answered_at": o.answered_at, "latency": o.latency}
            for o in sorted(loop_run.outcomes, key=lambda o: o.index)
        ]
    with open(options.out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
