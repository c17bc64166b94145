"""``make run-gcp-local``: the service on the Pub/Sub and Firestore emulators.

Starts both emulators of the Google Cloud CLI (ports 8085 and 8080, each in its
own process group so its Java child stops with it), waits until they answer,
creates the topics and subscriptions (``setup_pubsub``), migrates, seeds the demo
tenants, then serves the API and the worker from ``Procfile.dev`` with
``QUEUE_BACKEND=pubsub`` and ``LOG_STORE_BACKEND=firestore``. Ctrl-C stops
everything, emulators included. Emulators already answering on those ports are
used as they are and left running.

Standard library only: it runs before anything is imported from the project.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".gcp-local"
PROJECT = os.environ.get("GOOGLE_CLOUD_PROJECT", "dataproc-local")
PUBSUB_PORT = int(os.environ.get("PUBSUB_EMULATOR_PORT", "8085"))
FIRESTORE_PORT = int(os.environ.get("FIRESTORE_EMULATOR_PORT", "8080"))
START_TIMEOUT_SECONDS = 90.0


def say(message: str) -> None:
    print(f"run-gcp-local: {message}", flush=True)


def answers_ok(port: int) -> bool:
    """Both emulators answer ``GET /`` with "Ok" once they serve requests."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return b"Ok" in connection.recv(4096)
    except OSError:
        return False


class Emulator:
    def __init__(self, name: str, port: int, arguments: list[str]) -> None:
        self.name, self.port, self.arguments = name, port, arguments
        self.process: subprocess.Popen | None = None
        self.log_path = STATE_DIR / f"{name}.log"

    def start(self, gcloud: str) -> None:
        if answers_ok(self.port):
            say(f"{self.name} emulator already answers on 127.0.0.1:{self.port}; using it")
            return
        say(f"starting the {self.name} emulator on 127.0.0.1:{self.port} (log: {self.log_path})")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - gcloud's own path and fixed arguments
                [gcloud, *self.arguments, f"--host-port=127.0.0.1:{self.port}", "--quiet"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not answers_ok(self.port):
            if self.process is not None and self.process.poll() is not None:
                sys.exit(f"run-gcp-local: the {self.name} emulator exited; see {self.log_path}")
            if time.monotonic() > deadline:
                sys.exit(f"run-gcp-local: the {self.name} emulator did not answer; see {self.log_path}")
            time.sleep(0.5)
        say(f"{self.name} emulator ready")

    def stop(self) -> None:
        if self.process is None:
            return
        say(f"stopping the {self.name} emulator")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        # gcloud may exit before its Java child: the group as a whole must be gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


def service_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        {
            "DJANGO_DEBUG": environment.get("DJANGO_DEBUG", "1"),
            "QUEUE_BACKEND": "pubsub",
            "LOG_STORE_BACKEND": "firestore",
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{PUBSUB_PORT}",
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{FIRESTORE_PORT}",
        }
    )
    return environment


def manage(environment: dict[str, str], *arguments: str) -> None:
    say(f"manage.py {' '.join(arguments)}")
    command = [sys.executable, str(ROOT / "manage.py"), *arguments]
    subprocess.run(command, env=environment, cwd=ROOT, check=True)  # noqa: S603


def serve(honcho: str, environment: dict[str, str]) -> int:
    """Run API + worker under honcho until it exits; Ctrl-C and SIGTERM stop it gracefully."""
    say("serving the API on http://127.0.0.1:8000 and the worker (Ctrl-C stops everything)")
    command = [honcho, "-f", str(ROOT / "Procfile.dev"), "start"]
    process = subprocess.Popen(command, env=environment, cwd=ROOT)  # noqa: S603
    signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signal.SIGTERM))
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue  # Ctrl-C reached honcho too (same terminal); let it stop its processes


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        sys.exit(
            "run-gcp-local: the Google Cloud CLI (gcloud) is not installed; install it with the "
            "pubsub-emulator and cloud-firestore-emulator components, or use `make run`."
        )
    honcho = shutil.which("honcho")
    if honcho is None:
        sys.exit("run-gcp-local: honcho not found; run `make install` first.")
    STATE_DIR.mkdir(exist_ok=True)
    emulators = [
        Emulator("pubsub", PUBSUB_PORT, ["beta", "emulators", "pubsub", "start", f"--project={PROJECT}"]),
        Emulator("firestore", FIRESTORE_PORT, ["emulators", "firestore", "start"]),
    ]
    signal.signal(signal.SIGTERM, interrupt)  # until honcho runs, SIGTERM is Ctrl-C
    try:
        for emulator in emulators:
            emulator.start(gcloud)
        for emulator in emulators:
            emulator.wait()
        environment = service_environment()
        manage(environment, "setup_pubsub")
        manage(environment, "migrate", "--noinput")
        manage(environment, "seed_demo")
        return serve(honcho, environment)
    except KeyboardInterrupt:
        return 130
    except subprocess.CalledProcessError as exc:
        say(f"{' '.join(map(str, exc.cmd[1:]))} failed with exit status {exc.returncode}")
        return exc.returncode
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        for emulator in emulators:
            emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
