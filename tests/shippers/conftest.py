"""The service's real processes for the shipper tests: the fault tests' fixture (gunicorn and run_worker)."""

from tests.reliability.conftest import services  # noqa: F401  (a fixture, used by name)
