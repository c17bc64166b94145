"""Log-store backends, chosen by the LOG_STORE_BACKEND setting (short name or dotted path)."""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from core.records import (
    STATUS_DEAD_LETTERED,
    STATUS_PROCESSED,
    STATUS_RETRYING,
    STATUSES,
    ActivityBucket,
    LogPage,
    LogRecord,
    TenantSummary,
)
from tenants.stores.base import BaseLogStore, StoreUnavailable

__all__ = [
    "STATUSES",
    "STATUS_DEAD_LETTERED",
    "STATUS_PROCESSED",
    "STATUS_RETRYING",
    "ActivityBucket",
    "BaseLogStore",
    "LogPage",
    "LogRecord",
    "StoreUnavailable",
    "TenantSummary",
    "get_store",
    "reset_store",
]

BACKEND_ALIASES = {
    "database": "tenants.stores.database.DatabaseLogStore",
    "firestore": "tenants.stores.firestore.FirestoreLogStore",
}

_lock = threading.Lock()
_store: BaseLogStore | None = None


def load_store_class(backend: str) -> type[BaseLogStore]:
    path = BACKEND_ALIASES.get(backend, backend)
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"LOG_STORE_BACKEND {backend!r} cannot be loaded: {exc}") from exc


def get_store() -> BaseLogStore:
    """The process-wide log store, built on first use (after any fork)."""
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = load_store_class(settings.LOG_STORE_BACKEND)()
    return _store


def reset_store() -> None:
    """Forget the cached backend (tests that switch LOG_STORE_BACKEND)."""
    global _store
    with _lock:
        if _store is not None:
            _store.close()
        _store = None
