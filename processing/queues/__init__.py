"""Queue backends, chosen by the QUEUE_BACKEND setting (short name or dotted path)."""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from processing.queues.base import BaseQueue, QueueStats, QueueUnavailable, ReceivedMessage

__all__ = ["BaseQueue", "QueueStats", "QueueUnavailable", "ReceivedMessage", "get_queue", "reset_queue"]

BACKEND_ALIASES = {
    "database": "processing.queues.database.DatabaseQueue",
    "pubsub": "processing.queues.pubsub.PubSubQueue",
    "memory": "processing.queues.memory.MemoryQueue",
}

_lock = threading.Lock()
_queue: BaseQueue | None = None


def load_queue_class(backend: str) -> type[BaseQueue]:
    path = BACKEND_ALIASES.get(backend, backend)
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"QUEUE_BACKEND {backend!r} cannot be loaded: {exc}") from exc


def get_queue() -> BaseQueue:
    """The process-wide queue backend, built on first use (after any fork)."""
    global _queue
    if _queue is None:
        with _lock:
            if _queue is None:
                _queue = load_queue_class(settings.QUEUE_BACKEND)()
    return _queue


def reset_queue() -> None:
    """Forget the cached backend (tests that switch QUEUE_BACKEND)."""
    global _queue
    with _lock:
        if _queue is not None:
            _queue.close()
        _queue = None
