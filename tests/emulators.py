"""The official Google Cloud emulators, started once per test session.

A pytest plugin (loaded from the root ``conftest.py``) so every app's tests can
ask for ``pubsub_emulator`` / ``firestore_emulator`` and for the ready backends
``pubsub_queue`` / ``firestore_log_store`` the contract suites parametrise over.

``gcloud ... emulators ... start`` runs the emulator as a child Java process that
outlives ``gcloud`` when only that one is killed, so each emulator gets its own
process group and the whole group is stopped. Without ``gcloud`` the fixtures
skip loudly, and fail when ``REQUIRE_EMULATORS=1`` (CI sets it wherever gcloud exists).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROJECT = "dataproc-test"
START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0

MISSING_GCLOUD = (
    "Google Cloud CLI (gcloud) not found on PATH: the Pub/Sub and Firestore emulator tests "
    "cannot run. Install the Google Cloud CLI with the pubsub-emulator and "
    "cloud-firestore-emulator components to run them."
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_answers(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def unique_name(prefix: str) -> str:
    """A topic, subscription or tenant id no other test uses (ids need >= 3 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Emulator:
    """One emulator process group on a fixed port; stop() and start() again for outage tests."""

    name: str
    command: list[str]
    port: int
    env_var: str
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} emulator exited early; see {self.log_path}:\n{self.log_tail()}"
                )
            if port_answers(self.port) and self.ready():
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} emulator did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def ready(self) -> bool:
        """Both emulators answer ``GET /`` with "Ok" once they serve requests."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                return b"Ok" in conn.recv(4096)
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the whole process group (gcloud and its Java child) and wait for the port to close."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        # The Java child may outlive gcloud's exit; it is in the same group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.process = None
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while port_answers(self.port, timeout=0.2) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def pubsub_emulator_command(port: int, project: str = PROJECT) -> list[str]:
    return [
        "gcloud",
        "beta",
        "emulators",
        "pubsub",
        "start",
        f"--host-port=127.0.0.1:{port}",
        f"--project={project}",
        "--quiet",
    ]


def firestore_emulator_command(port: int) -> list[str]:
    return ["gcloud", "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}", "--quiet"]


def require_gcloud() -> None:
    from conftest import require_or_skip

    if shutil.which("gcloud") is None:
        require_or_skip("REQUIRE_EMULATORS", MISSING_GCLOUD)


@contextlib.contextmanager
def running(emulator: Emulator) -> Iterator[Emulator]:
    try:
        emulator.start()
        yield emulator
    finally:
        emulator.stop()


# -- session fixtures ------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator_logs() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dataproc-emulators-") as directory:
        yield Path(directory)


@pytest.fixture(scope="session")
def _pubsub_emulator_process(emulator_logs) -> Iterator[Emulator]:
    require_gcloud()
    port = free_port()
    emulator = Emulator(
        "pubsub", pubsub_emulator_command(port), port, "PUBSUB_EMULATOR_HOST", emulator_logs / "pubsub.log"
    )
    with running(emulator):
        yield emulator


@pytest.fixture(scope="session")
def _firestore_emulator_process(emulator_logs) -> Iterator[Emulator]:
    require_gcloud()
    port = free_port()
    emulator = Emulator(
        "firestore",
        firestore_emulator_command(port),
        port,
        "FIRESTORE_EMULATOR_HOST",
        emulator_logs / "fs.log",
    )
    with running(emulator):
        yield emulator


def _point_clients_at(monkeypatch: pytest.MonkeyPatch, emulator: Emulator, settings) -> None:
    monkeypatch.setenv(emulator.env_var, emulator.host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    settings.GOOGLE_CLOUD_PROJECT = PROJECT


@pytest.fixture
def pubsub_emulator(_pubsub_emulator_process, monkeypatch, settings) -> Emulator:
    """The session's Pub/Sub emulator (started again if a test stopped it), env pointed at it."""
    _pubsub_emulator_process.start()
    _point_clients_at(monkeypatch, _pubsub_emulator_process, settings)
    return _pubsub_emulator_process


@pytest.fixture
def firestore_emulator(_firestore_emulator_process, monkeypatch, settings) -> Emulator:
    """The session's Firestore emulator (started again if a test stopped it), env pointed at it."""
    _firestore_emulator_process.start()
    _point_clients_at(monkeypatch, _firestore_emulator_process, settings)
    return _firestore_emulator_process


# -- backends on the emulators ---------------------------------------------------


@pytest.fixture
def pubsub_names(settings) -> dict[str, str]:
    """Fresh topic and subscription names for one test, written into the settings."""
    names = {
        "PUBSUB_TOPIC": unique_name("topic"),
        "PUBSUB_SUBSCRIPTION": unique_name("worker"),
        "PUBSUB_DEAD_LETTER_TOPIC": unique_name("dead"),
        "PUBSUB_DEAD_LETTER_SUBSCRIPTION": unique_name("replay"),
    }
    for name, value in names.items():
        setattr(settings, name, value)
    return names


@pytest.fixture
def pubsub_topology(pubsub_emulator, pubsub_names, settings) -> dict[str, str]:
    """Topic, worker subscription and dead-letter topic/subscription, as ``setup_pubsub`` makes them."""
    from processing.queues.pubsub_admin import ensure_topology

    settings.QUEUE_BACKEND = "pubsub"
    ensure_topology()
    return pubsub_names


@pytest.fixture
def pubsub_queue(pubsub_topology):
    from processing.queues.pubsub import PubSubQueue

    queue = PubSubQueue()
    yield queue
    queue.close()


@pytest.fixture
def firestore_log_store(firestore_emulator, settings):
    from tenants.stores.firestore import FirestoreLogStore

    settings.LOG_STORE_BACKEND = "firestore"
    store = FirestoreLogStore()
    yield store
    store.close()


@pytest.fixture
def pubsub_queue_backend(pubsub_queue):
    """The queue contract's case for Pub/Sub: second-granular leases, broker round trips, no stats."""
    from processing.tests.queue_contract import QueueBackendCase

    return QueueBackendCase(
        queue=pubsub_queue,
        short_lease=2.0,
        long_lease=60.0,
        quiet_seconds=0.5,
        delivery_timeout=10.0,
        exact_stats=False,
        counts_deliveries=True,  # the subscription has a dead-letter policy
    )
