"""Start, watch and stop the service's own processes: gunicorn and ``run_worker``.

Each is started in its own session (process group), so stopping it stops its
children too, and only what this harness started is ever signalled. Peak memory
is read from ``/proc/<pid>/status`` (``VmHWM``: the high-water mark of resident
memory over the process's whole life), so no sampling can miss a spike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set size in MB, or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command's closing parenthesis: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by the process and every descendant it has now.

    An emulator is a ``gcloud`` launcher whose Java server is a grandchild: its CPU
    is only found by walking the tree.
    """
    total, pending, seen = 0.0, [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        total += cpu_seconds(current)
        pending.extend(children_of(current))
    return total


def machine_busy_seconds() -> float:
    """CPU time every core of the machine has spent busy since boot (``/proc/stat``: all but idle and iowait)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class ManagedProcess:
    """One process group started by the harness (or a fault test), its output in a log file."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log_path: Path, *, cwd: Path = ROOT
    ) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout: float) -> int | None:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the group, SIGKILL it after ``grace`` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            if self.wait(grace) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.wait(10)
        # Anything the group left behind (a stuck child) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Gunicorn(ManagedProcess):
    """A WSGI application under ``gunicorn.conf.py``, bound to a free port on 127.0.0.1.

    The API by default; ``app="bench.bare.wsgi"`` serves the bare ceiling project
    under the very same configuration (workers, threads, worker class).
    """

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_path: Path,
        *,
        app: str = "dataproc_site.wsgi",
        cwd: Path = ROOT,
    ) -> None:
        self.port = free_port()
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        command = [str(VENV_BIN / "gunicorn"), app, "--config", "gunicorn.conf.py"]
        super().__init__(name, command, env, log_path, cwd=cwd)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 60.0) -> None:
        super().start()
        workers = int(self.env.get("WEB_CONCURRENCY", "2"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"gunicorn ({self.name}) exited:\n{self.log_tail()}")
            if len(children_of(self.pid)) >= workers and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"gunicorn ({self.name}) did not answer within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/bench/ceiling"), timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # 405 for a GET: Django is up
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and every worker it has now."""
        return cpu_seconds(self.pid) + sum(cpu_seconds(pid) for pid in children_of(self.pid))

    def worker_peak_rss_mb(self) -> list[float]:
        return [rss for pid in children_of(self.pid) if (rss := peak_rss_mb(pid)) is not None]


class Worker(ManagedProcess):
    """``manage.py run_worker`` with the given arguments."""

    def __init__(self, name: str, env: dict[str, str], log_path: Path, arguments: list[str]) -> None:
        command = [sys.executable, "manage.py", "run_worker", *arguments]
        super().__init__(name, command, env, log_path)

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid) if self.running() else None
