"""The service's real processes for fault tests: gunicorn and ``run_worker``, on 127.0.0.1 only.

Each process runs the production settings module (``dataproc_site.settings``)
with an environment built here from scratch, so nothing of the test run's own
configuration leaks in, against the database the test uses (the pytest test
database: a SQLite file or a PostgreSQL database). Each starts in its own
session, so ``kill()`` (SIGKILL, the ``kill -9`` of the tests) and ``stop()``
reach the whole process group and nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from urllib.parse import quote

from bench.processes import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SECRET_KEY = "reliability-tests-secret-key-" + "x" * 40
# Only these are inherited from the test run; everything the app reads is set explicitly.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
START_TIMEOUT_SECONDS = 60.0


def database_url(settings_dict: dict | None = None) -> str:
    """A DATABASE_URL naming the database this test run is connected to (the test database)."""
    if settings_dict is None:
        from django.db import connection

        settings_dict = connection.settings_dict
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if not engine.endswith("postgresql"):
        raise ValueError(f"fault tests run on SQLite or PostgreSQL, not {engine}")
    credentials = ""
    if settings_dict.get("USER"):
        credentials = quote(settings_dict["USER"], safe="")
        if settings_dict.get("PASSWORD"):
            credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
        credentials += "@"
    name = quote(settings_dict["NAME"], safe="")
    host, port = settings_dict.get("HOST") or "", settings_dict.get("PORT") or ""
    if host.startswith("/"):
        # A Unix socket directory: django-environ passes it on as a libpq option.
        options = f"?host={quote(host, safe='/')}" + (f"&port={port}" if port else "")
        return f"postgres://{credentials}/{name}{options}"
    return f"postgres://{credentials}{quote(host, safe='')}{f':{port}' if port else ''}/{name}"


def service_environment(database: str, **overrides: str | float | int) -> dict[str, str]:
    """Production settings on the embedded backends, plain HTTP on loopback, open ingest."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "dataproc_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database,
            "QUEUE_BACKEND": "database",
            "LOG_STORE_BACKEND": "database",
            "INGEST_AUTH": "open",
            # Open ingest without DEBUG is refused at start-up unless meant (tenants.E001).
            "INGEST_ALLOW_OPEN_WITHOUT_DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update({name: str(value) for name, value in overrides.items()})
    return env


class Service(ManagedProcess):
    """One process group, its output in a log file the test can read; counts its starts."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        super().__init__(name, command, env, log_path)
        self.starts = 0

    def start(self) -> None:
        super().start()
        self.starts += 1

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the main process only."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self) -> None:
        """``kill -9`` the whole group: no handler runs, nothing is flushed or given back."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.wait(10)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the group; SIGKILL whatever is left after ``grace`` seconds."""
        super().stop(grace)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def json_lines(self) -> list[dict]:
        """Every line of output that is a JSON object (the app's log lines and progress events)."""
        entries = []
        for line in self.output().splitlines():
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    entries.append(json.loads(line))
        return entries


class ApiServer(Service):
    """gunicorn with the project's ``gunicorn.conf.py`` on a fixed free port of 127.0.0.1.

    The port stays the same across restarts, like a server coming back at its address.
    """

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 1, threads: int = 8) -> None:
        self.port = free_port()
        env = {
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            # Our own metrics directory: a killed master never cleans up its own.
            "PROMETHEUS_MULTIPROC_DIR": str(log_path.parent / f"metrics-{self.port}"),
        }
        Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(exist_ok=True)
        super().__init__(
            "api", [GUNICORN, "dataproc_site.wsgi", "--config", "gunicorn.conf.py"], env, log_path
        )
        self.workers = workers

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
            if len(self.worker_pids()) >= self.workers and self.get("/health")[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """gunicorn's worker processes (the master's children)."""
        children: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                children.extend(int(child) for child in (task / "children").read_text().split())
        return children

    def get(self, path: str, timeout: float = 10.0) -> tuple[int | None, Message, bytes]:
        """(status, headers, body); status None when nothing answered."""
        return request("GET", self.base_url + path, timeout=timeout)

    def post(self, path: str, body: bytes, headers: dict[str, str], timeout: float = 10.0):
        return request("POST", self.base_url + path, body=body, headers=headers, timeout=timeout)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is the answer under test, not something to follow


_opener = urllib.request.build_opener(_NoRedirects)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int | None, Message, bytes]:
    """One HTTP request to 127.0.0.1, redirects not followed.

    Returns (status, headers, body); headers keep repeated fields (``get_all``).
    (None, empty headers, b"") when no answer came (refused, reset, timed out).
    """
    assert url.startswith("http://127.0.0.1:"), "fault tests only ever talk to 127.0.0.1"
    outgoing = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with _opener.open(outgoing, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()
    except (OSError, http.client.HTTPException):
        return None, Message(), b""


class WorkerProcess(Service):
    """``manage.py run_worker`` with the given arguments."""

    def __init__(self, env: dict[str, str], log_path: Path, arguments: list[str]) -> None:
        super().__init__("worker", [PYTHON, "manage.py", "run_worker", *arguments], env, log_path)

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start and return once the worker reports it is consuming."""
        started_before = self.events("worker started")
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.events("worker started")) > len(started_before):
                return
            if not self.running():
                raise RuntimeError(f"run_worker exited at start:\n{self.log_tail()}")
            time.sleep(0.05)
        raise RuntimeError(f"run_worker did not start within {timeout:.0f} s:\n{self.log_tail()}")

    def events(self, name: str) -> list[dict]:
        return [entry for entry in self.json_lines() if entry.get("event") == name]

    def log_lines(self, message: str) -> list[dict]:
        return [entry for entry in self.json_lines() if entry.get("message") == message]
