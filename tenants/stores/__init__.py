"""Log-store backends, chosen by the LOG_STORE_BACKEND setting (short name or dotted path)."""

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
from dataproc_site.backends import BackendAccessor
from tenants.stores.base import BaseLogStore, SearchBound, SearchPage, StoreUnavailable

__all__ = [
    "STATUSES",
    "STATUS_DEAD_LETTERED",
    "STATUS_PROCESSED",
    "STATUS_RETRYING",
    "ActivityBucket",
    "BaseLogStore",
    "LogPage",
    "LogRecord",
    "SearchBound",
    "SearchPage",
    "StoreUnavailable",
    "TenantSummary",
    "get_store",
    "reset_store",
]

BACKEND_ALIASES = {
    "database": "tenants.stores.database.DatabaseLogStore",
    "firestore": "tenants.stores.firestore.FirestoreLogStore",
    "memory": "tenants.stores.memory.MemoryLogStore",
}

stores: BackendAccessor[BaseLogStore] = BackendAccessor(
    "LOG_STORE_BACKEND", BACKEND_ALIASES, BaseLogStore, check_id="tenants.E002"
)


def get_store() -> BaseLogStore:
    """The process-wide log store, built on first use (after any fork)."""
    return stores.get()


def reset_store() -> None:
    """Forget the cached backend (tests that switch LOG_STORE_BACKEND)."""
    stores.reset()
