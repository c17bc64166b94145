"""gunicorn settings, read from the environment so Cloud Run and a laptop share one file.

Threads, not processes, carry the concurrency: a request spends most of its time
waiting for the queue's acknowledgement, and threads let many such waits share
one publisher (and its batches) per process.
"""

import glob
import os
import shutil
import sys
import tempfile

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, except that each request is read whole by the worker's event loop before a
# thread takes it: a slow client is cut off (408) without ever holding a thread
# (dataproc_site/slow_clients.py; limits: REQUEST_READ_TIMEOUT_SECONDS and friends).
worker_class = "dataproc_site.slow_clients.BufferingThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# SIGTERM lets in-flight requests finish for graceful_timeout seconds. Cloud Run
# (which sets K_SERVICE) kills the container 10 s after its SIGTERM, so stop
# before that there; elsewhere allow longer.
_graceful_default = "8" if os.environ.get("K_SERVICE") else "25"
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", _graceful_default))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Clients (gRPC for Pub/Sub and Firestore) are created lazily in each worker after
# the fork; preloading would tempt code into creating them in the master.
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Prometheus multiprocess mode (docs/observability.md): every worker process writes its
# metrics to files in this directory and /metrics merges them, so a scrape sees the
# whole server, not whichever process answered. Set here, in the master, before any
# worker imports prometheus_client; a directory chosen by the operator is kept.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dataproc-metrics-")
    os.environ["DATAPROC_METRICS_DIR_OWNED"] = "1"


def on_starting(server):
    """Start from zero: files left by an earlier run would be merged in as if live."""
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def post_worker_init(worker):
    """Serve nothing while a system check fails, as every manage.py command refuses to run.

    Django runs its checks for management commands, not under WSGI; without this an
    error such as open ingest without DEBUG (tenants.E001) would only fail the
    migrate job. Exit code 3 is gunicorn's "worker failed to boot": the master stops
    instead of starting the worker again.
    """
    from django.core import checks

    errors = [
        message for message in checks.run_checks() if message.is_serious() and not message.is_silenced()
    ]
    if errors:
        for error in errors:
            worker.log.error("System check failed, not serving: %s", error)
        sys.exit(3)


def child_exit(server, worker):
    """A dead worker's live gauges (messages in flight) must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get("DATAPROC_METRICS_DIR_OWNED") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
