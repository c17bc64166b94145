"""Fixtures shared by the processing tests."""

import uuid

import pytest

from core.envelope import SOURCE_JSON, LogEnvelope
from processing.queues.memory import MemoryQueue
from tenants.stores.memory import MemoryLogStore


def make_envelope(text: str = "User 555-0199 accessed the system", **fields) -> LogEnvelope:
    fields.setdefault("tenant_id", "acme")
    fields.setdefault("log_id", f"log-{uuid.uuid4().hex[:12]}")
    fields.setdefault("source", SOURCE_JSON)
    return LogEnvelope(text=text, **fields)


@pytest.fixture
def memory_store(db) -> MemoryLogStore:
    """The in-memory store (the worker still asks the tenant registry for retention: db)."""
    return MemoryLogStore()


@pytest.fixture
def memory_queue():
    queue = MemoryQueue()
    yield queue
    queue.close()
