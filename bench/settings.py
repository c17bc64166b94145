"""The service's own settings, plus the bench-only ceiling route.

Every API process in a benchmark run uses this module, so the ceiling endpoint
and ``/ingest`` are measured with the same middleware, the same gunicorn
configuration and the same environment. Production never loads it.
"""

from dataproc_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The ceiling view is an API route like /ingest: it gets the middleware an API route gets.
STATELESS_PATHS = [*STATELESS_PATHS, r"^bench/ceiling$"]  # noqa: F405
