"""Suite-wide fixtures: fresh backends for every test, and loud skips for missing services."""

import os

import pytest

# The Google Cloud emulators and the backends on them (fixtures any app's tests can use).
pytest_plugins = ["tests.emulators", "tests.api_fixtures"]


def require_or_skip(variable: str, reason: str) -> None:
    """Skip with ``reason``, or fail when ``variable`` is 1 (CI must not skip it)."""
    if os.environ.get(variable) == "1":
        pytest.fail(f"{variable}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def fresh_backends():
    """Each test builds its own queue and store backends, and none outlives it."""
    from processing.queues import reset_queue
    from tenants.stores import reset_store

    reset_queue()
    reset_store()
    _forget_tenant_state()
    yield
    reset_queue()
    reset_store()
    _forget_tenant_state()


def _forget_tenant_state():
    """What this process cached (tenants, keys, redaction policies, rate counters) outlives the rolled-back database."""
    from django.core.cache import caches

    from tenants.auth import clear_auth_caches
    from tenants.redaction_policies import forget_redaction_policies

    clear_auth_caches()
    forget_redaction_policies()
    caches["default"].clear()
