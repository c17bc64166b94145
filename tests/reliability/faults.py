"""Faults the tests inject: a locked SQLite database, and a cuttable connection to a server.

``SqliteWriteLock`` holds SQLite's write lock from another connection, as a
long migration or a stuck transaction would: every writer waits its busy
timeout and then fails with "database is locked".

``SocketProxy`` sits between the service's processes and a server they talk to
(PostgreSQL on its Unix socket or TCP port, an emulator's gRPC port). ``cut()``
closes the listener and every open connection, so the server is unreachable
exactly as if it were down or firewalled off (connections refused, established
ones reset); ``restore()`` listens again at the same address, as the server
coming back. The server itself, shared with the rest of the test run, is never
touched.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from pathlib import Path

BUFFER_BYTES = 64 * 1024


class SqliteWriteLock:
    """Hold the write lock of a SQLite database file until ``release()``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None

    def acquire(self) -> None:
        self._connection = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self._connection is not None:
            self._connection.execute("ROLLBACK")
            self._connection.close()
            self._connection = None

    def __enter__(self) -> SqliteWriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


class SocketProxy:
    """Forward connections from a local address to ``upstream`` until cut.

    ``upstream`` and the listening address are either ``("127.0.0.1", port)``
    (TCP) or a filesystem path (a Unix socket). For a PostgreSQL Unix socket the
    listening path must be ``<directory>/.s.PGSQL.<port>``, the name libpq looks for.
    """

    def __init__(self, upstream: tuple[str, int] | str, listen: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self.listen_address = listen
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0

    @staticmethod
    def _family(address: tuple[str, int] | str) -> int:
        return socket.AF_UNIX if isinstance(address, str) else socket.AF_INET

    def restore(self) -> None:
        """Listen (again) and forward every new connection."""
        if self._listener is not None:
            return
        listener = socket.socket(self._family(self.listen_address), socket.SOCK_STREAM)
        if isinstance(self.listen_address, str):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen_address)
        else:
            assert self.listen_address[0] == "127.0.0.1", "the proxy only listens on loopback"
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self.listen_address)
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="proxy-accept", daemon=True).start()

    start = restore

    def cut(self) -> None:
        """Refuse new connections and reset every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            if isinstance(self.listen_address, str):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.listen_address)
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            _close(connection)

    stop = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                server = socket.socket(self._family(self.upstream), socket.SOCK_STREAM)
                server.connect(self.upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _close(client)
                    _close(server)
                    return
                self._connections.update((client, server))
                self.accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(BUFFER_BYTES):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections.discard(source)
                self._connections.discard(target)
            _close(source)
            _close(target)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


def postgres_socket_path(directory: Path, port: int) -> str:
    """Where libpq looks for a server's Unix socket in ``directory``."""
    return str(directory / f".s.PGSQL.{port}")
