"""
Settings for dataproc, read from the environment (twelve-factor).

Every value comes from an environment variable through django-environ, so the
same image runs on a laptop (SQLite, embedded queue and store) and on Cloud Run
(PostgreSQL, Pub/Sub, Firestore). A bad value fails at start-up rather than at
the first request. ``DJANGO_DEBUG`` is off unless set: production is the default.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-development-key-do-not-deploy")
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # django.contrib.admin, with the staff console's URLs on the default admin site.
    "console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "rest_framework_api_key",
    # Admin login lockout (see "Admin login" below).
    "axes",
    "tenants",
    "processing",
    "ingest",
    "logs_api",
    "probes",
    "console",
]

MIDDLEWARE = [
    # First: it times the whole request and logs its one JSON line (docs/observability.md).
    "dataproc_site.observability.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, users and messages: Django's, skipped on STATELESS_PATHS (below).
    "dataproc_site.browser_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # On every route, API included (DRF views are CSRF-exempt; anything else is checked).
    "django.middleware.csrf.CsrfViewMiddleware",
    "dataproc_site.browser_middleware.AuthenticationMiddleware",
    "dataproc_site.browser_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused (locked-out) admin login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# Routes that serve machines (tenant keys, tokens, probes), never a browser session:
# the session, authentication and messages middleware step aside there
# (dataproc_site/browser_middleware.py). Matched like SECURE_REDIRECT_EXEMPT, against the
# path without its leading slash; every other route (the admin, the console, the API
# docs, a new route) gets the full stack.
STATELESS_PATHS = [
    r"^ingest$",
    r"^v1/logs$",
    r"^logs(?:/|$)",
    r"^health$",
    r"^ready$",
    r"^metrics$",
    r"^pubsub/push$",
]

ROOT_URLCONF = "dataproc_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "dataproc_site.wsgi.application"

# Database: SQLite file by default, DATABASE_URL for PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the API append to the queue while the worker reads it; IMMEDIATE
    # transactions take the write lock up front, so concurrent writers wait for
    # it (busy timeout) instead of failing with "database is locked" mid-transaction.
    # At most 2 s: while another connection holds the lock, /ingest must answer 503
    # within 5 s, and a publish can wait out one other publish's timeout before its own.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=2.0),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Kept across requests too: opening a SQLite connection (file, PRAGMAs, Django's
    # SQL functions) per request is a large share of a request's cost (bench/README.md).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user or address before any password is hashed.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Security: strict by default; local development over plain HTTP turns it off with DEBUG.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# /metrics is scraped over plain HTTP from inside (a sidecar on localhost); it has its own protection.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading binds every subdomain to HTTPS in browsers for good, so it stays the
# operator's explicit choice; until it is made, `check --deploy` need not warn of it.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# How many proxies in front of the app append the address they were reached from to
# X-Forwarded-For: the client is that many entries from the right (dataproc_site/client_ip.py).
# 1 on Cloud Run (Google's front end); 0 with nothing in front (a laptop: REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0 if DEBUG else 1)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT cannot be negative.")

# Admin login (django-axes): after AXES_FAILURE_LIMIT failed logins for one username, or
# from one client address, further logins for it are refused (429, even with the right
# password) for AXES_COOLOFF_MINUTES after the last try, or until a superuser lifts the
# lockout (admin: Axes > Access attempts, delete; or `manage.py axes_reset_username NAME`,
# `axes_reset_ip ADDRESS`, `axes_reset`). Attempts are kept in the database, so every API
# instance counts together. The API (API keys, no sessions) never authenticates through
# Django and is not affected.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
if AXES_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT must be at least 1.")
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # either one reaching the limit locks
_axes_cooloff_minutes = env.float("AXES_COOLOFF_MINUTES", default=30.0)
# 0: a lockout lasts until a superuser lifts it.
AXES_COOLOFF_TIME = timedelta(minutes=_axes_cooloff_minutes) if _axes_cooloff_minutes > 0 else None
AXES_CLIENT_IP_CALLABLE = "dataproc_site.client_ip.client_ip"
# Every failed login is listed in the admin too (Axes > Access failures), not only the counts.
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# --- dataproc ------------------------------------------------------------------

QUEUE_BACKEND = env.str("QUEUE_BACKEND", default="database")
LOG_STORE_BACKEND = env.str("LOG_STORE_BACKEND", default="database")

GOOGLE_CLOUD_PROJECT = env.str("GOOGLE_CLOUD_PROJECT", default="dataproc-local")
PUBSUB_TOPIC = env.str("PUBSUB_TOPIC", default="dataproc-ingest")
PUBSUB_SUBSCRIPTION = env.str("PUBSUB_SUBSCRIPTION", default="dataproc-worker")
PUBSUB_DEAD_LETTER_TOPIC = env.str("PUBSUB_DEAD_LETTER_TOPIC", default="dataproc-dead-letter")
PUBSUB_DEAD_LETTER_SUBSCRIPTION = env.str(
    "PUBSUB_DEAD_LETTER_SUBSCRIPTION", default="dataproc-dead-letter-replay"
)
PUBSUB_PUBLISH_TIMEOUT = env.float("PUBSUB_PUBLISH_TIMEOUT", default=5.0)
# The subscription's dead-letter policy (Pub/Sub allows 5-100): a safety net above
# WORKER_MAX_ATTEMPTS, since Pub/Sub also counts deliveries cut short by crashes,
# shutdowns and store outages, which never count against a log.
PUBSUB_MAX_DELIVERY_ATTEMPTS = env.int("PUBSUB_MAX_DELIVERY_ATTEMPTS", default=100)
if not 5 <= PUBSUB_MAX_DELIVERY_ATTEMPTS <= 100:
    raise ImproperlyConfigured("PUBSUB_MAX_DELIVERY_ATTEMPTS must be between 5 and 100 (Pub/Sub's limits).")
# Push delivery (/pubsub/push): the OIDC token must carry this audience and be
# signed for this service account e-mail. Empty audience disables the endpoint.
PUBSUB_PUSH_AUDIENCE = env.str("PUBSUB_PUSH_AUDIENCE", default="")
PUBSUB_PUSH_SERVICE_ACCOUNT = env.str("PUBSUB_PUSH_SERVICE_ACCOUNT", default="")
FIRESTORE_DATABASE = env.str("FIRESTORE_DATABASE", default="(default)")

INGEST_AUTH = env.str("INGEST_AUTH", default="open" if DEBUG else "api_key")
if INGEST_AUTH not in ("open", "api_key"):
    raise ImproperlyConfigured(f"INGEST_AUTH must be 'open' or 'api_key', not {INGEST_AUTH!r}.")
# Open ingest without DEBUG is a system-check error (tenants.E001: `check --deploy`, every
# management command and the gunicorn workers refuse to start) unless this is set, for a
# deliberate public test.
INGEST_ALLOW_OPEN_WITHOUT_DEBUG = env.bool("INGEST_ALLOW_OPEN_WITHOUT_DEBUG", default=False)
# Open mode registers an unknown tenant on first sight only while fewer tenants than this
# exist (all of them counted); past it, a new tenant id gets 403 and known tenants keep
# working. 0: open mode registers none.
INGEST_OPEN_MAX_TENANTS = env.int("INGEST_OPEN_MAX_TENANTS", default=100)
if INGEST_OPEN_MAX_TENANTS < 0:
    raise ImproperlyConfigured("INGEST_OPEN_MAX_TENANTS cannot be negative.")
# --- Intake limits (ingest/formats/limits.py; docs/ingest-api.md) ---
# Bytes of a request body as sent (compressed or not), on /ingest and /v1/logs: at
# least 10 MB, so a shipper's default batch fits (Vector's http sink: 10 MB).
INGEST_MAX_BODY_BYTES = env.int("INGEST_MAX_BODY_BYTES", default=10 * 1024 * 1024)
# Bytes of a body once decompressed (Content-Encoding); past it, 413 (a bomb).
INGEST_MAX_DECOMPRESSED_BYTES = env.int("INGEST_MAX_DECOMPRESSED_BYTES", default=20 * 1024 * 1024)
# Records in one request: NDJSON lines, JSON array items, OTLP LogRecords.
INGEST_MAX_BATCH_LINES = env.int("INGEST_MAX_BATCH_LINES", default=1000)
# Characters of one log's text (a longer one is rejected, never cut). The ingest
# system check (ingest.E001) refuses a value whose simulated work would not finish
# within the worker's deadline.
INGEST_MAX_TEXT_CHARS = env.int("INGEST_MAX_TEXT_CHARS", default=10_000)
# One record's attributes: past these an attribute is dropped (a string cut) and counted.
INGEST_MAX_ATTRIBUTES = env.int("INGEST_MAX_ATTRIBUTES", default=64)
INGEST_MAX_ATTRIBUTE_KEY_CHARS = env.int("INGEST_MAX_ATTRIBUTE_KEY_CHARS", default=128)
INGEST_MAX_ATTRIBUTE_VALUE_CHARS = env.int("INGEST_MAX_ATTRIBUTE_VALUE_CHARS", default=4096)
INGEST_MAX_ATTRIBUTES_BYTES = env.int("INGEST_MAX_ATTRIBUTES_BYTES", default=64 * 1024)
for _name in (
    "INGEST_MAX_BODY_BYTES",
    "INGEST_MAX_DECOMPRESSED_BYTES",
    "INGEST_MAX_BATCH_LINES",
    "INGEST_MAX_TEXT_CHARS",
    "INGEST_MAX_ATTRIBUTES",
    "INGEST_MAX_ATTRIBUTE_KEY_CHARS",
    "INGEST_MAX_ATTRIBUTE_VALUE_CHARS",
    "INGEST_MAX_ATTRIBUTES_BYTES",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be a positive integer.")
# Logs per minute (every record of a batch counts) for tenants registered on first
# sight (open mode) and the default of create_tenant: one full batch a second.
INGEST_DEFAULT_RATE_PER_MINUTE = env.int("INGEST_DEFAULT_RATE_PER_MINUTE", default=60_000)
INGEST_RETRY_AFTER_SECONDS = env.int("INGEST_RETRY_AFTER_SECONDS", default=5)
# Backpressure (ingest/backpressure.py): an upload that would take one tenant's queued logs
# (waiting, delayed or being worked on) past INGEST_MAX_QUEUED_LOGS_PER_TENANT answers 429, one
# that would take the whole queue past INGEST_MAX_QUEUED_LOGS answers 503, both with Retry-After
# INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS and nothing queued; a batch of N logs needs room for N.
# 0 turns a cap off (the default). Exact on the database queue; on Pub/Sub only the total is
# known, from Cloud Monitoring, read at most every PUBSUB_BACKLOG_CACHE_SECONDS.
INGEST_MAX_QUEUED_LOGS_PER_TENANT = env.int("INGEST_MAX_QUEUED_LOGS_PER_TENANT", default=0)
INGEST_MAX_QUEUED_LOGS = env.int("INGEST_MAX_QUEUED_LOGS", default=0)
INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS = env.int("INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS", default=30)
PUBSUB_BACKLOG_CACHE_SECONDS = env.float("PUBSUB_BACKLOG_CACHE_SECONDS", default=60.0)
if min(
    INGEST_MAX_QUEUED_LOGS_PER_TENANT, INGEST_MAX_QUEUED_LOGS, INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS
) < 0 or (PUBSUB_BACKLOG_CACHE_SECONDS <= 0):
    raise ImproperlyConfigured(
        "INGEST_MAX_QUEUED_LOGS_PER_TENANT, INGEST_MAX_QUEUED_LOGS and INGEST_QUEUE_FULL_RETRY_AFTER_SECONDS "
        "cannot be negative; PUBSUB_BACKLOG_CACHE_SECONDS must be positive."
    )
# How long a process trusts what it cached about a tenant (active, rate) or an API key:
# a deactivation, rate change or revocation reaches every process within this time.
INGEST_AUTH_CACHE_SECONDS = env.float("INGEST_AUTH_CACHE_SECONDS", default=30.0)
# The per-tenant rate counters live here (tenants.throttling). The local-memory default
# counts per process; a shared cache (redis, memcached) gives one limit across processes.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# Django's own request size cap must not undercut the ingest limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(INGEST_MAX_BODY_BYTES, 2_621_440)

# Slow clients (dataproc_site/slow_clients.py, the gunicorn worker): a request is read whole
# by the worker's event loop before any thread takes it, so a slow client never holds a
# thread. It is answered 408 and closed when it has not fully arrived within
# REQUEST_READ_TIMEOUT_SECONDS, or, once REQUEST_MIN_RATE_GRACE_SECONDS have passed, when
# its bytes arrive slower on average than REQUEST_MIN_BYTES_PER_SECOND (0: no rate rule).
# Keep the timeout below Cloud Run's request timeout (terraform: 60 s).
REQUEST_READ_TIMEOUT_SECONDS = env.float("REQUEST_READ_TIMEOUT_SECONDS", default=30.0)
REQUEST_MIN_BYTES_PER_SECOND = env.float("REQUEST_MIN_BYTES_PER_SECOND", default=1024.0)
REQUEST_MIN_RATE_GRACE_SECONDS = env.float("REQUEST_MIN_RATE_GRACE_SECONDS", default=5.0)
# A body above this is refused (413) before it is read; it must exceed every body the
# application accepts, chunked framing included: the largest upload limit plus a quarter.
_largest_body = max(INGEST_MAX_BODY_BYTES, DATA_UPLOAD_MAX_MEMORY_SIZE)
REQUEST_MAX_BUFFERED_BYTES = env.int("REQUEST_MAX_BUFFERED_BYTES", default=_largest_body * 5 // 4 + 64 * 1024)
if (
    REQUEST_READ_TIMEOUT_SECONDS <= 0
    or REQUEST_MIN_RATE_GRACE_SECONDS < 0
    or REQUEST_MIN_BYTES_PER_SECOND < 0
):
    raise ImproperlyConfigured(
        "REQUEST_READ_TIMEOUT_SECONDS must be positive; REQUEST_MIN_RATE_GRACE_SECONDS and "
        "REQUEST_MIN_BYTES_PER_SECOND cannot be negative."
    )
if _largest_body >= REQUEST_MAX_BUFFERED_BYTES:
    raise ImproperlyConfigured(
        f"REQUEST_MAX_BUFFERED_BYTES must exceed {_largest_body} (the largest body accepted)."
    )

WORKER_MAX_ATTEMPTS = env.int("WORKER_MAX_ATTEMPTS", default=5)
if WORKER_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("WORKER_MAX_ATTEMPTS must be at least 1.")
WORKER_LEASE_SECONDS = env.float("WORKER_LEASE_SECONDS", default=30.0)
WORKER_BACKOFF_BASE_SECONDS = env.float("WORKER_BACKOFF_BASE_SECONDS", default=2.0)
WORKER_BACKOFF_MAX_SECONDS = env.float("WORKER_BACKOFF_MAX_SECONDS", default=300.0)
WORKER_SHUTDOWN_GRACE_SECONDS = env.float("WORKER_SHUTDOWN_GRACE_SECONDS", default=30.0)
# The longest one log may be worked on (its simulated work included) before the
# consumer gives up on it: the lease is no longer renewed and the attempt counts as
# failed, so a hung handler cannot hold a message forever (docs/processing.md).
WORKER_MESSAGE_DEADLINE_SECONDS = env.float("WORKER_MESSAGE_DEADLINE_SECONDS", default=3600.0)
if WORKER_MESSAGE_DEADLINE_SECONDS <= 0:
    raise ImproperlyConfigured("WORKER_MESSAGE_DEADLINE_SECONDS must be positive.")
# Noisy neighbours on Pub/Sub (processing/consumers/streaming.py, docs/processing.md): while
# every work slot of a streaming worker is taken, a tenant already holding this share of them
# gets no more; its next delivery is given back after WORKER_TENANT_SHED_DELAY_SECONDS instead
# of waiting for a slot, so another tenant's log finds a handler. A lone tenant still fills
# every slot. 1 turns the cap off. (The database queue is fair by itself: claims take tenants
# in turns.)
WORKER_TENANT_MAX_SHARE = env.float("WORKER_TENANT_MAX_SHARE", default=0.5)
WORKER_TENANT_SHED_DELAY_SECONDS = env.float("WORKER_TENANT_SHED_DELAY_SECONDS", default=5.0)
if not 0 < WORKER_TENANT_MAX_SHARE <= 1 or WORKER_TENANT_SHED_DELAY_SECONDS < 0:
    raise ImproperlyConfigured(
        "WORKER_TENANT_MAX_SHARE must be in (0, 1]; WORKER_TENANT_SHED_DELAY_SECONDS cannot be negative."
    )
PROCESSING_DELAY_PER_CHAR = env.float("PROCESSING_DELAY_PER_CHAR", default=0.05)
if PROCESSING_DELAY_PER_CHAR < 0:
    raise ImproperlyConfigured("PROCESSING_DELAY_PER_CHAR cannot be negative.")
# How the worker gets its messages, for the ingest system check (ingest.E001): a log's
# work must end within the deadline of that mode. "push" (Pub/Sub push to /pubsub/push):
# within the push subscription's ack deadline, PUBSUB_PUSH_ACK_DEADLINE_SECONDS
# (Pub/Sub allows 10-600 s); "pull" (run_worker): within WORKER_MESSAGE_DEADLINE_SECONDS.
WORKER_MODE = env.str("WORKER_MODE", default="push" if PUBSUB_PUSH_AUDIENCE else "pull")
if WORKER_MODE not in ("pull", "push"):
    raise ImproperlyConfigured(f"WORKER_MODE must be 'pull' or 'push', not {WORKER_MODE!r}.")
PUBSUB_PUSH_ACK_DEADLINE_SECONDS = env.int("PUBSUB_PUSH_ACK_DEADLINE_SECONDS", default=600)
if not 10 <= PUBSUB_PUSH_ACK_DEADLINE_SECONDS <= 600:
    raise ImproperlyConfigured(
        "PUBSUB_PUSH_ACK_DEADLINE_SECONDS must be between 10 and 600 (Pub/Sub's limits)."
    )
# Demo only: lets a log ask to fail N times (see processing.pipeline). Never on
# without DEBUG.
PROCESSING_DEMO_FAILURES = DEBUG and env.bool("PROCESSING_DEMO_FAILURES", default=True)
# How long a process trusts what it cached of a tenant's redaction policy: a saved policy
# reaches every worker within this time (in the process that saved it, at once).
REDACTION_POLICY_CACHE_SECONDS = env.float("REDACTION_POLICY_CACHE_SECONDS", default=5.0)
if REDACTION_POLICY_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("REDACTION_POLICY_CACHE_SECONDS cannot be negative.")

# Data lifecycle (docs/lifecycle.md). run_worker sweeps expired records and original text
# (manage.py expire_logs) every EXPIRE_LOGS_INTERVAL_SECONDS; 0 turns it off. On by default
# only on the embedded setup: in production a Cloud Scheduler job runs the sweep.
_embedded = QUEUE_BACKEND == "database" and LOG_STORE_BACKEND == "database"
EXPIRE_LOGS_INTERVAL_SECONDS = env.float("EXPIRE_LOGS_INTERVAL_SECONDS", default=3600.0 if _embedded else 0.0)
if EXPIRE_LOGS_INTERVAL_SECONDS < 0:
    raise ImproperlyConfigured("EXPIRE_LOGS_INTERVAL_SECONDS cannot be negative (0 turns the sweep off).")
# Firestore deletes expired records by its TTL policy; where none runs (the emulator) the
# sweep deletes them itself, by a full scan.
FIRESTORE_EXPIRE_BY_SWEEP = env.bool(
    "FIRESTORE_EXPIRE_BY_SWEEP", default=bool(env.str("FIRESTORE_EMULATOR_HOST", default=""))
)
# Firestore has no text search: the console's search scans the logs received in a window
# (this many hours unless the page sets "received from"), at most this many per page.
FIRESTORE_SEARCH_WINDOW_HOURS = env.float("FIRESTORE_SEARCH_WINDOW_HOURS", default=24.0)
FIRESTORE_SEARCH_MAX_SCANNED = env.int("FIRESTORE_SEARCH_MAX_SCANNED", default=2000)
if FIRESTORE_SEARCH_WINDOW_HOURS <= 0 or FIRESTORE_SEARCH_MAX_SCANNED < 1:
    raise ImproperlyConfigured(
        "FIRESTORE_SEARCH_WINDOW_HOURS must be positive and FIRESTORE_SEARCH_MAX_SCANNED at least 1."
    )

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "dataproc_site.api.error_handlers.json_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "dataproc ingest API",
    "DESCRIPTION": "Multi-tenant log ingestion: POST logs, read them back once processed.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "logs_api.schema.require_tenant_header_in_open_mode",
    ],
    # The docs UI from drf-spectacular-sidecar's static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several bodies have a "status"; name each choice set once.
    "ENUM_NAME_OVERRIDES": {
        "LogStatusEnum": "core.records.STATUSES",
        "AcceptedStatusEnum": ["accepted"],
        "OkStatusEnum": ["ok"],
    },
}

# Metrics (docs/observability.md). /metrics wants "Authorization: Bearer <METRICS_TOKEN>"
# when a token is set; without one, only METRICS_ALLOWED_NETWORKS may scrape: loopback
# under DEBUG, nobody in production unless set explicitly.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not a network.") from None
# Tenant label values: the Tenant table, re-read this often, at most this many (others: "other").
METRICS_TENANT_CACHE_SECONDS = env.float("METRICS_TENANT_CACHE_SECONDS", default=60.0)
METRICS_MAX_TENANT_LABELS = env.int("METRICS_MAX_TENANT_LABELS", default=500)
# Queue depth and age are asked of the backend at scrape time, at most this often.
METRICS_QUEUE_STATS_SECONDS = env.float("METRICS_QUEUE_STATS_SECONDS", default=5.0)

# Logging on stdout: one JSON object per line in production (Cloud Logging reads it),
# readable lines for people under DEBUG (make run); LOG_FORMAT=json|console overrides.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'console', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "dataproc_site.logging.JsonFormatter"},
        "console": {"()": "dataproc_site.logging.ConsoleFormatter"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "stream": "ext://sys.stdout"}
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
