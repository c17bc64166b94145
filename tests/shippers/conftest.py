"""The service's real processes for the shipper tests: the fault tests' fixtures (gunicorn, run_worker, the emulators)."""

from tests.reliability.conftest import google_cloud, services  # noqa: F401  (fixtures, used by name)
