"""Queue backends, chosen by the QUEUE_BACKEND setting (short name or dotted path)."""

from dataproc_site.backends import BackendAccessor
from processing.queues.base import BaseQueue, QueueStats, QueueUnavailable, ReceivedMessage

__all__ = ["BaseQueue", "QueueStats", "QueueUnavailable", "ReceivedMessage", "get_queue", "reset_queue"]

BACKEND_ALIASES = {
    "database": "processing.queues.database.DatabaseQueue",
    "pubsub": "processing.queues.pubsub.PubSubQueue",
    "memory": "processing.queues.memory.MemoryQueue",
}

queues: BackendAccessor[BaseQueue] = BackendAccessor(
    "QUEUE_BACKEND", BACKEND_ALIASES, BaseQueue, check_id="processing.E001"
)


def get_queue() -> BaseQueue:
    """The process-wide queue backend, built on first use (after any fork)."""
    return queues.get()


def reset_queue() -> None:
    """Forget the cached backend (tests that switch QUEUE_BACKEND)."""
    queues.reset()
