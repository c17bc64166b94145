"""Write transactions that wait for SQLite's write lock in short steps, so no writer starves.

SQLite has one writer at a time. Its own busy handler backs off to 100 ms between
looks at the lock, so a process whose threads write back to back (the API under
batch load) takes the lock again the instant it is released, ahead of writers of
other processes still asleep in theirs. Under eight clients' 500-line batches
that starved writers past their busy timeout about once in 200 requests
(bench/README.md, "The embedded queue under batch load"). Every write path of the
embedded backends (queue publishes, claims and acks; log-store results and
failures; open-mode tenant registration) takes its transaction here instead, so
they all wait alike, a few milliseconds at a time.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connections, transaction

# How long a writer waiting for the lock sleeps between looks (uniform in this range).
SQLITE_LOCK_POLL_SECONDS = (0.001, 0.004)


@contextmanager
def write_transaction(using: str = "default") -> Iterator[None]:
    """``transaction.atomic()`` that, on SQLite, waits for the write lock in short, jittered steps.

    Within SQLite's busy timeout (``SQLITE_BUSY_TIMEOUT``) the outcome is as with
    ``atomic()``: the block runs in an IMMEDIATE transaction, or "database is
    locked" once the timeout has passed. Elsewhere, and inside a caller's
    transaction, it is ``atomic()`` itself.
    """
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with transaction.atomic(using=using):
            yield
        return
    timeout = float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5.0))
    deadline = time.monotonic() + timeout
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            atomic = transaction.atomic(using=using)
            try:
                atomic.__enter__()
                break
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(random.uniform(*SQLITE_LOCK_POLL_SECONDS))  # noqa: S311
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    try:
        yield
    except BaseException:
        if not atomic.__exit__(*sys.exc_info()):
            raise
    else:
        atomic.__exit__(None, None, None)
