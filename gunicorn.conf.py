"""gunicorn settings, read from the environment so Cloud Run and a laptop share one file.

Threads, not processes, carry the concurrency: a request spends most of its time
waiting for the queue's acknowledgement, and threads let many such waits share
one publisher (and its batches) per process.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "25"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Clients (gRPC for Pub/Sub and Firestore) are created lazily in each worker after
# the fork; preloading would tempt code into creating them in the master.
preload_app = False
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
