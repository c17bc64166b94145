"""Settings for the test suite: the real settings with fast, deterministic knobs.

DATABASE_URL still applies, so ``make test`` runs the suite on PostgreSQL too.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("PROCESSING_DELAY_PER_CHAR", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from dataproc_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WORKER_BACKOFF_BASE_SECONDS = 0.05
WORKER_BACKOFF_MAX_SECONDS = 0.5

# Tests that start real worker or server processes need a database those processes
# can open too: on SQLite, a file rather than the in-memory default.
# TEST_SQLITE_PATH lets two test runs in one checkout use separate files.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.environ.get("TEST_SQLITE_PATH", str(BASE_DIR / ".test-db.sqlite3"))  # noqa: F405
    }

# In-process HTTP clients (the test client, schemathesis over WSGI) call the app by these names.
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
