"""Every log-store backend against the one contract in ``store_contract``.

To run the contract on another backend, add its name to ``STORE_BACKENDS`` and
provide a ``<name>_log_store`` fixture (see the ``store_contract`` docstring).
"""

import pytest

from tenants.stores.database import DatabaseLogStore
from tenants.stores.memory import MemoryLogStore
from tenants.tests.store_contract import LogStoreContract

STORE_BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("database", id="database"),
    pytest.param("firestore", id="firestore", marks=pytest.mark.emulators),
]


# Real transactions (not one wrapping each test) so that threads, which use
# connections of their own, see each other's writes. A marker rather than the
# transactional_db fixture: pytest-django only sets the test database up for
# fixtures it can see statically, and ``log_store`` picks its backend at run time.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def memory_log_store():
    return MemoryLogStore()


@pytest.fixture
def database_log_store():
    store = DatabaseLogStore()
    yield store
    store.close()


@pytest.fixture(params=STORE_BACKENDS)
def log_store(request):
    return request.getfixturevalue(f"{request.param}_log_store")


class TestLogStoreContract(LogStoreContract):
    """The contract, once per backend in STORE_BACKENDS."""
