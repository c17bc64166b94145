"""Fixtures for the HTTP tests of every app: memory backends, auth modes, tenants and keys.

A pytest plugin (loaded from the root ``conftest.py``). The root conftest forgets
cached tenants, keys and rate counters between tests.
"""

import pytest

from processing.queues import get_queue
from tenants.models import Tenant, TenantAPIKey
from tenants.stores import get_store


@pytest.fixture
def queue(settings):
    """The in-memory queue; ``queue.queued_envelopes()`` shows what was published."""
    settings.QUEUE_BACKEND = "memory"
    return get_queue()


@pytest.fixture
def store(settings):
    """The in-memory log store; ``store.load([record])`` puts records in."""
    settings.LOG_STORE_BACKEND = "memory"
    return get_store()


@pytest.fixture
def open_mode(settings):
    settings.INGEST_AUTH = "open"


@pytest.fixture
def api_key_mode(settings):
    settings.INGEST_AUTH = "api_key"


@pytest.fixture
def acme(db):
    return Tenant.objects.create(id="acme", name="Acme", rate_limit_per_minute=1000)


@pytest.fixture
def acme_key(acme):
    _, key = TenantAPIKey.objects.create_key(name="test", tenant=acme)
    return key


@pytest.fixture
def beta(db):
    return Tenant.objects.create(id="beta_inc", name="Beta", rate_limit_per_minute=1000)


@pytest.fixture
def beta_key(beta):
    _, key = TenantAPIKey.objects.create_key(name="test", tenant=beta)
    return key
