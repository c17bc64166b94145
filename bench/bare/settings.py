"""Settings of the bare ceiling project: ``rest_framework`` only, no middleware, no database.

The request-reading limits are the service's defaults, since the worker class
(``dataproc_site.slow_clients.BufferingThreadWorker``) reads them from Django's
settings; they bound nothing a benchmark sends.
"""

import os

DEBUG = False
SECRET_KEY = "bench-bare-only-0123456789-never-for-any-deployment"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
DATABASES: dict = {}
USE_TZ = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

REQUEST_READ_TIMEOUT_SECONDS = 30.0
REQUEST_MIN_BYTES_PER_SECOND = 1024.0
REQUEST_MIN_RATE_GRACE_SECONDS = 5.0
REQUEST_MAX_BUFFERED_BYTES = 20 * 1024 * 1024

# The durable batch ceiling's SQLite file (the harness puts it in its workspace).
BARE_QUEUE_DATABASE = os.environ.get("BENCH_BARE_QUEUE_DATABASE", "bench-bare-queue.sqlite3")
