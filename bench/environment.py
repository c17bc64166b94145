"""Where a benchmark runs: a temporary directory, the environment of each backend, the emulators.

Every phase gets a fresh copy of a migrated SQLite database and, on Pub/Sub, its
own project id, so no phase inherits a backlog or records from an earlier one.
The settings are the production ones (DEBUG off) with only what a plain-HTTP
run on 127.0.0.1 needs changed; see ``service_env``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import ROOT

logger = logging.getLogger(__name__)

EMBEDDED = "embedded"
PUBSUB = "pubsub"


_SERVICE_PREFIXES = ("DJANGO_", "QUEUE_", "LOG_STORE_", "PUBSUB_", "FIRESTORE_", "INGEST_", "WORKER_")
_SERVICE_KEYS = ("DATABASE_URL", "GOOGLE_CLOUD_PROJECT", "PROCESSING_DELAY_PER_CHAR")


def _inherited_env() -> dict[str, str]:
    """This process's environment without anything that configures the service."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SERVICE_PREFIXES) and key not in _SERVICE_KEYS
    }


def bare_env(queue_database: Path) -> dict[str, str]:
    """The bare ceiling project (bench/bare/): its own settings, its queue table in ``queue_database``."""
    return {
        **_inherited_env(),
        "DJANGO_SETTINGS_MODULE": "bench.bare.settings",
        "BENCH_BARE_QUEUE_DATABASE": str(queue_database),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def service_env(database_url: str) -> dict[str, str]:
    """The production settings, as a run on 127.0.0.1 over plain HTTP needs them.

    Open ingest (no API keys to provision) and a per-tenant rate far above the
    load, so the benchmark measures the service, not its throttle; the throttle's
    bookkeeping still runs on every request.
    """
    env = _inherited_env()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-not-for-any-deployment",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "INGEST_AUTH": "open",
            # Open ingest without DEBUG is refused at start-up unless meant (tenants.E001).
            "INGEST_ALLOW_OPEN_WITHOUT_DEBUG": "1",
            "INGEST_DEFAULT_RATE_PER_MINUTE": "100000000",
            "DATABASE_URL": database_url,
            "PROCESSING_DELAY_PER_CHAR": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


@dataclass
class Emulators:
    """The Pub/Sub and Firestore emulators, via the test suite's own helper (tests/emulators.py)."""

    log_dir: Path
    pubsub: object | None = None
    firestore: object | None = None
    error: str | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @staticmethod
    def missing_reason() -> str | None:
        if shutil.which("gcloud") is None:
            return "gcloud (Google Cloud CLI) not found: Pub/Sub and Firestore emulator rows skipped"
        return None

    def start_in_background(self) -> None:
        self._thread = threading.Thread(target=self._start, daemon=True)
        self._thread.start()

    def _start(self) -> None:
        from tests.emulators import (
            Emulator,
            firestore_emulator_command,
            free_port,
            pubsub_emulator_command,
        )

        try:
            pubsub_port, firestore_port = free_port(), free_port()
            self.pubsub = Emulator(
                "pubsub",
                pubsub_emulator_command(pubsub_port, project="bench"),
                pubsub_port,
                "PUBSUB_EMULATOR_HOST",
                self.log_dir / "pubsub-emulator.log",
            )
            self.firestore = Emulator(
                "firestore",
                firestore_emulator_command(firestore_port),
                firestore_port,
                "FIRESTORE_EMULATOR_HOST",
                self.log_dir / "firestore-emulator.log",
            )
            starters = [threading.Thread(target=emulator.start) for emulator in (self.pubsub, self.firestore)]
            for starter in starters:
                starter.start()
            for starter in starters:
                starter.join()
            if not (self.pubsub.process and self.firestore.process):
                self.error = "an emulator failed to start; see the logs in " + str(self.log_dir)
        except Exception as exc:
            self.error = f"emulators failed to start: {exc}"

    def wait(self) -> str | None:
        """Block until both answer; the reason the Pub/Sub rows must be skipped, if any."""
        if self._thread is not None:
            self._thread.join()
        return self.error

    def pids(self) -> dict[str, int]:
        """The process of each emulator that is running, by the name a report prints."""
        named = (("Pub/Sub emulator", self.pubsub), ("Firestore emulator", self.firestore))
        return {
            name: emulator.process.pid
            for name, emulator in named
            if emulator is not None and emulator.process is not None and emulator.process.poll() is None
        }

    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.pubsub.host, "FIRESTORE_EMULATOR_HOST": self.firestore.host}

    def stop(self) -> None:
        for emulator in (self.pubsub, self.firestore):
            if emulator is not None:
                emulator.stop()


class Workspace:
    """A temporary directory holding the migrated database template, copies of it, and every log."""

    def __init__(self, keep: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dataproc-bench-"))
        self.keep = keep
        self.template = self.dir / "template.sqlite3"
        self.emulators: Emulators | None = None
        self._phases = 0

    def migrate_template(self) -> None:
        env = service_env(f"sqlite:///{self.template}")
        with (self.dir / "migrate.log").open("wb") as log:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )

    def phase_env(self, backend: str, name: str, *, delay_per_char: float = 0.0) -> dict[str, str]:
        """A fresh database (and on Pub/Sub a fresh project) for one phase of the run."""
        self._phases += 1
        slug = f"{self._phases:02d}-{name}"
        database = self.dir / f"{slug}.sqlite3"
        shutil.copyfile(self.template, database)
        env = service_env(f"sqlite:///{database}")
        env["PROCESSING_DELAY_PER_CHAR"] = repr(delay_per_char)
        if backend == PUBSUB:
            assert self.emulators is not None
            env.update(self.emulators.env())
            env.update(
                {
                    "QUEUE_BACKEND": "pubsub",
                    "LOG_STORE_BACKEND": "firestore",
                    "GOOGLE_CLOUD_PROJECT": f"bench-{slug}",
                }
            )
        else:
            env.update({"QUEUE_BACKEND": "database", "LOG_STORE_BACKEND": "database"})
        return env

    def bare_env(self, name: str) -> dict[str, str]:
        """The bare ceiling project's environment, with a queue file of its own for this phase."""
        self._phases += 1
        return bare_env(self.dir / f"{self._phases:02d}-{name}-queue.sqlite3")

    def log(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def cleanup(self) -> None:
        if self.emulators is not None:
            self.emulators.stop()
        if self.keep:
            logger.warning("bench workspace kept: %s", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Probe:
    """A ``python -m bench.probe`` process for one phase (see bench/probe.py)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.probe"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )

    def call(self, command: str, call_timeout: float | None = None, **arguments) -> dict:
        """Send one command; kill the probe if no answer comes within ``call_timeout``."""
        assert self.process.stdin is not None and self.process.stdout is not None
        if call_timeout is None:
            call_timeout = arguments.get("timeout", 0) + 300.0
        watchdog = threading.Timer(call_timeout, self.process.kill)
        watchdog.start()
        try:
            self.process.stdin.write(json.dumps({"cmd": command, **arguments}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        finally:
            watchdog.cancel()
        if not line:
            raise RuntimeError(f"probe {command!r} died (or timed out); see {self.log_path}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"probe {command!r}: {answer['error']}\n{answer.get('traceback', '')}")
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
