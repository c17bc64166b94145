"""Django's SQLite backend, with one write transaction at a time per process taken in Python.

SQLite lets one connection write at a time. When a second connection asks for
the write lock (``BEGIN IMMEDIATE``) while it is held, SQLite's busy handler
sleeps and retries in steps of up to 100 ms, so a handful of threads of one
process contending for it (the worker's claims, results and acks; the API's
publishes) spend most of their time asleep with the lock free. Threads of one
process therefore queue for it on a Python lock, which hands it over the moment
it is released; SQLite's busy timeout still arbitrates between processes (API
and worker). Waiting for the Python lock is bounded by the same timeout, and
running out of it is the same ``OperationalError("database is locked")``.
"""

from __future__ import annotations

import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks_guard = threading.Lock()
_write_locks: dict[str, threading.Lock] = {}


def write_lock_for(name: str) -> threading.Lock:
    """The process-wide lock of one database file."""
    with _locks_guard:
        return _write_locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self):
        if self.transaction_mode != "IMMEDIATE" or self.is_in_memory_db():
            super()._start_transaction_under_autocommit()
            return
        lock = write_lock_for(self.settings_dict["NAME"])
        timeout = self.settings_dict["OPTIONS"].get("timeout", 5.0)
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked (by another thread of this process)")
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            write_lock_for(self.settings_dict["NAME"]).release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_write_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_write_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_write_lock()
