"""Database connection hygiene for threads that do long work between queries.

Django opens one connection per thread. The worker runs ~100 handler threads
that each spend seconds sleeping (the simulated work) between two short bursts
of queries; holding a PostgreSQL connection per thread across that sleep would
exhaust the server's connection limit. So handler threads hand their
connections back before long work and after each message.
"""

from contextlib import suppress

from django.db import DatabaseError, connections


def release_thread_connections() -> None:
    """Close this thread's database connections, unless a transaction is using them.

    Inside ``atomic`` (a test case, a caller's transaction) closing would roll
    back someone else's work, so those connections are left alone.
    """
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        # A connection that fails to close is broken already; Django drops it on next use.
        with suppress(DatabaseError):
            connection.close()
