"""Every queue backend against the one contract in ``queue_contract``.

To run the contract on another backend, add one line to ``QUEUE_BACKENDS`` and
provide a ``<name>_queue_backend`` fixture (see the ``queue_contract`` docstring).
"""

import pytest

from processing.queues.database import DatabaseQueue
from processing.queues.memory import MemoryQueue
from processing.tests.queue_contract import FairClaimsContract, QueueBackendCase, QueueContract

QUEUE_BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("database", id="database"),
    pytest.param("pubsub", id="pubsub", marks=pytest.mark.emulators),
]

# Real transactions (not one wrapping each test) so that threads, which use
# connections of their own, see each other's writes. A marker rather than the
# transactional_db fixture: pytest-django only sets the test database up for
# fixtures it can see statically, and ``queue_backend`` picks its backend at run time.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def memory_queue_backend():
    queue = MemoryQueue()
    yield QueueBackendCase(queue=queue)
    queue.close()


@pytest.fixture
def database_queue_backend():
    queue = DatabaseQueue()
    yield QueueBackendCase(queue=queue)
    queue.close()


@pytest.fixture(params=QUEUE_BACKENDS)
def queue_backend(request) -> QueueBackendCase:
    return request.getfixturevalue(f"{request.param}_queue_backend")


class TestQueueContract(QueueContract):
    """The contract, once per backend in QUEUE_BACKENDS."""


@pytest.fixture(params=["memory", "database"])
def fair_queue_backend(request) -> QueueBackendCase:
    return request.getfixturevalue(f"{request.param}_queue_backend")


class TestFairClaims(FairClaimsContract):
    """Fair claims, on the backends that make them (one Pub/Sub subscription cannot)."""

    @pytest.fixture
    def queue_backend(self, fair_queue_backend):
        return fair_queue_backend
