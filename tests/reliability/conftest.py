"""Fixtures for the fault tests: real processes on the test database, and ways to take the database away.

Every test here uses a transactional test database (committed rows), because
the API and the worker run as separate processes that must see what the test
writes and the test must see what they write.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from tests.reliability.faults import SocketProxy, SqliteWriteLock, postgres_socket_path
from tests.reliability.services import (
    ApiServer,
    Service,
    WorkerProcess,
    database_url,
    service_environment,
)

# Fast enough to test, slow enough that kills land mid-message: a 40-character
# log takes 0.4 s of simulated work; a killed worker's leases run out within 3 s.
FAST_SETTINGS = {
    "PROCESSING_DELAY_PER_CHAR": 0.01,
    "WORKER_LEASE_SECONDS": 3,
    "WORKER_BACKOFF_BASE_SECONDS": 0.2,
    "WORKER_BACKOFF_MAX_SECONDS": 1,
    "WORKER_SHUTDOWN_GRACE_SECONDS": 10,
}


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


@dataclass
class Services:
    """Starts the service's processes for one test and stops every one of them afterwards."""

    directory: Path
    database: str
    started: list[Service] = field(default_factory=list)
    # Settings every process of this test gets (the Google backends, say).
    defaults: dict = field(default_factory=dict)

    def environment(self, **overrides) -> dict[str, str]:
        return service_environment(self.database, **{**FAST_SETTINGS, **self.defaults, **overrides})

    def api(self, *, workers: int = 1, threads: int = 8, env: dict | None = None, **overrides) -> ApiServer:
        server = ApiServer(
            env or self.environment(**overrides),
            self._log(f"api-{len(self.started)}"),
            workers=workers,
            threads=threads,
        )
        self.started.append(server)
        server.start()
        return server

    def worker(
        self, *arguments: str, env: dict | None = None, start: bool = True, **overrides
    ) -> WorkerProcess:
        worker = WorkerProcess(
            env or self.environment(**overrides), self._log(f"worker-{len(self.started)}"), list(arguments)
        )
        self.started.append(worker)
        if start:
            worker.start()
        return worker

    def _log(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.stop(grace=5)

    def report(self) -> str:
        def tail(service: Service) -> str:
            return "\n".join(line[:300] for line in service.log_tail(25).splitlines())

        return "\n".join(f"--- {service.log_path.name}\n{tail(service)}" for service in self.started)


@pytest.fixture
def services(transactional_db, tmp_path) -> Iterator[Services]:
    started = Services(tmp_path, database_url())
    try:
        yield started
    finally:
        started.stop_all()
        # Shown with a failing test's output: what the processes said last.
        print(started.report())


@pytest.fixture
def google_cloud(request, settings, services) -> dict[str, str]:
    """The processes (and this test's store) on Pub/Sub and Firestore, on the session's emulators.

    The subscription is created here from the test's settings, so its ack
    deadline (10 s, Pub/Sub's minimum) and retry policy match the fast settings.
    """
    from tests.emulators import PROJECT

    settings.WORKER_LEASE_SECONDS = FAST_SETTINGS["WORKER_LEASE_SECONDS"]
    settings.WORKER_BACKOFF_BASE_SECONDS = FAST_SETTINGS["WORKER_BACKOFF_BASE_SECONDS"]
    settings.WORKER_BACKOFF_MAX_SECONDS = FAST_SETTINGS["WORKER_BACKOFF_MAX_SECONDS"]
    topology = request.getfixturevalue("pubsub_topology")
    pubsub = request.getfixturevalue("pubsub_emulator")
    firestore = request.getfixturevalue("firestore_emulator")
    settings.LOG_STORE_BACKEND = "firestore"
    google = {
        "QUEUE_BACKEND": "pubsub",
        "LOG_STORE_BACKEND": "firestore",
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "PUBSUB_EMULATOR_HOST": pubsub.host,
        "FIRESTORE_EMULATOR_HOST": firestore.host,
        **topology,
    }
    services.defaults.update(google)
    return google


@pytest.fixture
def firestore_store(request, settings, services) -> dict[str, str]:
    """The log store on the session's Firestore emulator; the queue stays the database's."""
    from tests.emulators import PROJECT

    firestore = request.getfixturevalue("firestore_emulator")
    settings.LOG_STORE_BACKEND = "firestore"
    overrides = {
        "LOG_STORE_BACKEND": "firestore",
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "FIRESTORE_EMULATOR_HOST": firestore.host,
    }
    services.defaults.update(overrides)
    return overrides


@pytest.fixture(
    params=[
        pytest.param("database", marks=pytest.mark.postgres),
        pytest.param("firestore", marks=pytest.mark.emulators),
    ]
)
def store_backend(request) -> str:
    """The store the processes write to, the database's or Firestore's; the queue is the database's."""
    if request.param == "firestore":
        request.getfixturevalue("firestore_store")
    return request.param


def unique_tenants(*names: str) -> list[str]:
    """Tenant ids no other test uses: the emulators keep their data for the whole session."""
    suffix = uuid.uuid4().hex[:8]
    return [f"{name}-{suffix}" for name in names]


class DatabaseOutage:
    """Takes the database away from the service's processes and gives it back.

    SQLite: another connection holds the write lock (a stuck transaction, a long
    migration). PostgreSQL: the processes reach the server through a proxy that
    is cut, so connections are refused and open ones reset (a server down or
    unreachable); the test's own connection is untouched.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.proxy: SocketProxy | None = None
        self.socket_directory: Path | None = None
        self.lock: SqliteWriteLock | None = None
        settings_dict = dict(connection.settings_dict)
        if is_sqlite():
            self.kind = "database locked"
            self.lock = SqliteWriteLock(settings_dict["NAME"])
            self.url = database_url(settings_dict)
            return
        self.kind = "database unreachable"
        connection.ensure_connection()
        info = connection.connection.info
        if info.host.startswith("/"):
            # Short: a Unix socket path has at most 107 bytes.
            directory = Path(tempfile.mkdtemp(prefix="dataproc-pg-", dir="/tmp"))
            self.socket_directory = directory
            upstream: tuple[str, int] | str = postgres_socket_path(Path(info.host), info.port)
            listen: tuple[str, int] | str = postgres_socket_path(directory, info.port)
            settings_dict.update(HOST=str(directory), PORT=str(info.port))
        else:
            from tests.reliability.services import free_port

            upstream, listen = (info.host, info.port), ("127.0.0.1", free_port())
            settings_dict.update(HOST="127.0.0.1", PORT=str(listen[1]))
        self.proxy = SocketProxy(upstream, listen)
        self.proxy.start()
        self.url = database_url(settings_dict)

    def begin(self) -> None:
        if self.lock is not None:
            self.lock.acquire()
        else:
            self.proxy.cut()

    def end(self) -> None:
        if self.lock is not None:
            self.lock.release()
        else:
            self.proxy.restore()

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
        if self.proxy is not None:
            self.proxy.cut()
        if self.socket_directory is not None:
            shutil.rmtree(self.socket_directory, ignore_errors=True)


@pytest.fixture
def database_outage(transactional_db, tmp_path) -> Iterator[DatabaseOutage]:
    outage = DatabaseOutage(tmp_path)
    try:
        yield outage
    finally:
        outage.close()
