"""gunicorn's several processes, one set of numbers: the multiprocess metrics set-up, for real."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def not_found_count(text: str) -> float:
    prefix = 'dataproc_http_requests_total{method="GET",route="unmatched",status="404",tenant="other"}'
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


class Gunicorn:
    """A real gunicorn with two worker processes, on a free local port."""

    def __init__(self, tmp_path: Path, metrics_dir: Path | None = None) -> None:
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dataproc_site.settings",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "2",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                str(GUNICORN),
                "dataproc_site.wsgi",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"{self.base}/health")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"gunicorn did not start: {self.process.stderr.read().decode()[-2000:]}")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # quick shutdown
            self.process.wait(timeout=30)
        self.process.stderr.close()


@pytest.fixture
def start_gunicorn(tmp_path):
    servers = []

    def start(**kwargs) -> Gunicorn:
        servers.append(Gunicorn(tmp_path, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.mark.slow
def test_every_scrape_counts_the_requests_of_every_gunicorn_process(start_gunicorn):
    server = start_gunicorn()
    for number in range(30):
        assert get(f"{server.base}/no-such-page-{number}")[0] == 404

    # Each scrape is answered by whichever process takes it: all must agree.
    counts = {not_found_count(get(f"{server.base}/metrics")[1]) for _ in range(6)}

    assert counts == {30.0}


@pytest.mark.slow
def test_a_restarted_server_does_not_count_the_previous_runs_requests(start_gunicorn, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    first = start_gunicorn(metrics_dir=metrics_dir)
    for number in range(5):
        get(f"{first.base}/no-such-page-{number}")
    first.stop()
    assert list(metrics_dir.glob("*.db")), "an operator's directory is kept, files and all"

    second = start_gunicorn(metrics_dir=metrics_dir)
    get(f"{second.base}/no-such-page")

    assert not_found_count(get(f"{second.base}/metrics")[1]) == 1.0
