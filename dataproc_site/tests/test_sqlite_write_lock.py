"""The SQLite backend: threads of one process queue for the write lock in Python, not in SQLite.

Each test opens its own database file through the backend directly, so it runs
the same on either pass of ``make test`` (SQLite or PostgreSQL as the default).
"""

import threading
import uuid

import pytest
from django.db import OperationalError

from dataproc_site.db_backends.sqlite3.base import DatabaseWrapper, write_lock_for


def open_database(path, *, timeout: float = 2.0) -> DatabaseWrapper:
    settings_dict = {
        "ENGINE": "dataproc_site.db_backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {"timeout": timeout, "transaction_mode": "IMMEDIATE"},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }
    database = DatabaseWrapper(settings_dict, alias=f"write-lock-{uuid.uuid4().hex[:8]}")
    database.ensure_connection()
    return database


def begin(database: DatabaseWrapper) -> None:
    """What ``transaction.atomic`` does on entry."""
    database.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def finish(database: DatabaseWrapper, *, commit: bool = True) -> None:
    database.commit() if commit else database.rollback()
    database.set_autocommit(True)


def in_thread(target) -> list:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(target())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return outcome


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These files are the tests' own, not the test database pytest-django guards."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def path(tmp_path):
    database = open_database(tmp_path / "lock.sqlite3")
    with database.cursor() as cursor:
        cursor.execute("CREATE TABLE entries (name TEXT)")
    database.close()
    return tmp_path / "lock.sqlite3"


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_a_write_transaction_holds_the_process_lock_until_it_ends(path, ending):
    database = open_database(path)
    lock = write_lock_for(str(path))

    begin(database)
    held = lock.locked()
    if ending == "close":
        database.close()
    else:
        finish(database, commit=ending == "commit")

    assert held
    assert not lock.locked()


def test_another_thread_waits_for_the_lock_and_writes_once_the_holder_commits(path):
    holder = open_database(path)
    begin(holder)
    events = []
    holder_done = threading.Event()

    def second_writer() -> None:
        database = open_database(path)
        begin(database)  # waits here until the holder commits
        events.append("second writer began")
        with database.cursor() as cursor:
            cursor.execute("INSERT INTO entries VALUES ('second')")
        finish(database)
        database.close()

    thread = threading.Thread(target=second_writer)
    thread.start()
    holder_done.wait(0.3)
    with holder.cursor() as cursor:
        cursor.execute("INSERT INTO entries VALUES ('first')")
    events.append("holder committing")
    finish(holder)
    thread.join(10)

    assert events == ["holder committing", "second writer began"]
    with holder.cursor() as cursor:
        cursor.execute("SELECT name FROM entries ORDER BY rowid")
        assert [row[0] for row in cursor.fetchall()] == ["first", "second"]
    holder.close()


def test_waiting_longer_than_the_busy_timeout_fails_as_database_locked(path):
    holder = open_database(path)
    begin(holder)

    def impatient_writer():
        database = open_database(path, timeout=0.2)
        try:
            begin(database)
        finally:
            database.close()

    [outcome] = in_thread(impatient_writer)
    finish(holder)
    holder.close()

    assert isinstance(outcome, OperationalError)
    assert "database is locked" in str(outcome)
    assert not write_lock_for(str(path)).locked()
