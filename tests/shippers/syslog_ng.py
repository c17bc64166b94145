"""Run a real syslog-ng (Debian's syslog-ng-core + syslog-ng-mod-http) shipping to an HTTP URL.

    config = HttpDestination(url="http://127.0.0.1:8000/ingest", api_key="...")
    with SyslogNg(config, workdir=tmp_path) as syslog_ng:
        syslog_ng.send(["User 555-0199 logged in", ...], host="web-1", program="app")

syslog-ng runs in the foreground on its own files under ``workdir`` (configuration,
persist file, pid file, control socket, its own log) and listens for syslog lines on
a free TCP port of 127.0.0.1; its ``http()`` destination posts them in batches to
``url`` with the API key, as NDJSON or as a JSON array of ``{"message", "host",
"program", "timestamp", "level", "facility"}`` objects, which POST /ingest takes with
the tenant from the key. ``send`` writes RFC 3164 lines; ``stop`` (or leaving the
``with``) ends syslog-ng with SIGTERM, and SIGKILL if it does not go.

.ci/install-syslog-ng.sh installs it; ``missing_reason()`` says why it cannot run here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SYSLOG_NG = "syslog-ng"
NDJSON = "ndjson"
JSON_ARRAY = "json_array"
BEARER = "bearer"
X_API_KEY = "x-api-key"
# Fields of each log, in syslog-ng's template language: what dataproc reads as the text
# (message), the event time (timestamp, ISO 8601 with offset), the severity (level),
# and attributes (host, program, facility).
RECORD_TEMPLATE = (
    "$(format-json message=$MESSAGE host=$HOST program=$PROGRAM timestamp=$ISODATE "
    "level=$LEVEL facility=$FACILITY)"
)


def binary() -> str | None:
    return shutil.which(SYSLOG_NG) or next(
        (path for path in ("/usr/sbin/syslog-ng", "/sbin/syslog-ng") if os.access(path, os.X_OK)), None
    )


def missing_reason() -> str | None:
    """Why syslog-ng with its http() destination cannot run here, or None when it can."""
    path = binary()
    if path is None:
        return "syslog-ng not found: run .ci/install-syslog-ng.sh (Debian syslog-ng-core, syslog-ng-mod-http)"
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} --version failed: {exc}"
    modules = next((line for line in version.splitlines() if line.startswith("Available-Modules:")), "")
    if "http" not in modules.split(":", 1)[-1].replace(" ", "").split(","):
        return f"{path} has no http module: run .ci/install-syslog-ng.sh (Debian syslog-ng-mod-http)"
    return None


@dataclass(frozen=True)
class HttpDestination:
    """What the http() destination sends: where, with which key and header, how batched and framed."""

    url: str
    api_key: str = ""
    auth: str = X_API_KEY  # or BEARER: "Authorization: Bearer <key>"
    body_format: str = NDJSON  # or JSON_ARRAY
    batch_lines: int = 100  # at most INGEST_MAX_BATCH_LINES
    batch_bytes: int = 1024 * 1024  # below INGEST_MAX_BODY_BYTES (syslog-ng 3.38 cannot compress)
    batch_timeout_ms: int = 500
    extra_headers: tuple[str, ...] = ()
    # A 4xx other than these makes syslog-ng retry the same batch for ever (it treats
    # most 4xx as "not connected"); these can never succeed, so they are dropped.
    drop_statuses: tuple[int, ...] = (400, 413, 415)
    record_template: str = RECORD_TEMPLATE

    def headers(self) -> list[str]:
        content_type = "application/x-ndjson" if self.body_format == NDJSON else "application/json"
        headers = [f"Content-Type: {content_type}"]
        if self.api_key:
            headers.append(
                f"Authorization: Bearer {self.api_key}"
                if self.auth == BEARER
                else f"X-API-Key: {self.api_key}"
            )
        return [*headers, *self.extra_headers]


def render_config(destination: HttpDestination, *, port: int, internal_log: Path) -> str:
    """A syslog-ng configuration: a TCP syslog source on 127.0.0.1:``port`` into ``destination``."""
    if destination.body_format == NDJSON:
        framing = 'delimiter("\\n")'
    elif destination.body_format == JSON_ARRAY:
        framing = 'body-prefix("[")\n    body-suffix("]")\n    delimiter(",")'
    else:
        raise ValueError(f"body_format must be {NDJSON!r} or {JSON_ARRAY!r}, not {destination.body_format!r}")
    headers = ", ".join(_quoted(header) for header in destination.headers())
    actions = ", ".join(f"{status} => drop" for status in destination.drop_statuses)
    response_action = f"\n    response-action({actions})" if actions else ""
    return f"""@version: 3.38
options {{
  stats-freq(0);
  time-reopen(1);
  keep-hostname(yes);
  chain-hostnames(no);
}};

source s_internal {{ internal(); }};
destination d_internal {{ file({_quoted(str(internal_log))}); }};
log {{ source(s_internal); destination(d_internal); }};

source s_lines {{
  network(ip("127.0.0.1") port({port}) transport("tcp") log-iw-size(100000) max-connections(10));
}};
destination d_dataproc {{
  http(
    url({_quoted(destination.url)})
    method("POST")
    user-agent("syslog-ng (dataproc tests)")
    headers({headers})
    {framing}
    batch-lines({destination.batch_lines})
    batch-bytes({destination.batch_bytes})
    batch-timeout({destination.batch_timeout_ms})
    workers(1)
    body({_quoted(destination.record_template)}){response_action}
  );
}};
log {{ source(s_lines); destination(d_dataproc); }};
"""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SyslogNg:
    """One syslog-ng process in the foreground, on its own files and port."""

    destination: HttpDestination
    workdir: Path
    start_timeout: float = 20.0
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "syslog-ng.conf"

    @property
    def internal_log(self) -> Path:
        return self.workdir / "internal.log"

    @property
    def output_log(self) -> Path:
        return self.workdir / "syslog-ng.out"

    def __enter__(self) -> SyslogNg:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        path = binary()
        if path is None:
            raise RuntimeError(missing_reason())
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            render_config(self.destination, port=self.port, internal_log=self.internal_log)
        )
        command = [
            path,
            "--foreground",
            "--no-caps",
            "--stderr",
            f"--cfgfile={self.config_path}",
            f"--persist-file={self.workdir / 'syslog-ng.persist'}",
            f"--pidfile={self.workdir / 'syslog-ng.pid'}",
            f"--control={self.workdir / 'syslog-ng.ctl'}",
        ]
        with self.output_log.open("wb") as output:
            self.process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"syslog-ng exited with {self.process.returncode}: {self.diagnostics()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"syslog-ng did not listen on port {self.port} in {self.start_timeout} s: {self.diagnostics()}"
        )

    def send(
        self,
        messages: list[str],
        *,
        host: str = "web-1",
        program: str = "app",
        priority: int = 14,  # facility user, severity info
    ) -> None:
        """Write each message as an RFC 3164 line (``<PRI>Mmm dd hh:mm:ss host program[pid]: message``)."""
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime())
        lines = "".join(
            f"<{priority}>{stamp} {host} {program}[{os.getpid()}]: {message}\n" for message in messages
        )
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(lines.encode("utf-8"))

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)

    def diagnostics(self) -> str:
        """syslog-ng's own output and internal log, for a failing test's message."""
        parts = []
        for path in (self.output_log, self.internal_log):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts) or "(no output)"
