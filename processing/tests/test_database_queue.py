"""What the database queue promises beyond the shared contract: durability, 503-able errors, row locking."""

import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from processing.models import QueueMessage
from processing.queues import database, get_queue
from processing.queues.base import QueueUnavailable
from processing.queues.database import DatabaseQueue
from processing.queues.memory import MemoryQueue
from processing.tests.conftest import make_envelope

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_DOWN = OperationalError("could not connect to server")


def in_other_thread(function):
    """Run ``function`` on a thread of its own (so on a database connection of its own)."""
    result = {}

    def target():
        try:
            result["value"] = function()
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    return result.get("value")


def test_a_published_message_is_committed_before_publish_returns():
    message_id = DatabaseQueue().publish(make_envelope())

    seen = in_other_thread(lambda: list(QueueMessage.objects.values_list("message_id", flat=True)))

    assert [str(value) for value in seen] == [message_id]


def test_publish_many_commits_every_row_in_one_go():
    envelopes = [make_envelope() for _ in range(1200)]

    message_ids = DatabaseQueue().publish_many(envelopes)

    assert in_other_thread(QueueMessage.objects.count) == 1200
    assert len(set(message_ids)) == 1200


def test_message_ids_are_time_ordered_so_their_unique_index_grows_at_its_end():
    queue = DatabaseQueue()
    first = queue.publish(make_envelope())
    time.sleep(0.002)
    batch = queue.publish_many([make_envelope() for _ in range(50)])
    time.sleep(0.002)
    last = queue.publish(make_envelope())

    stored = [
        str(value) for value in QueueMessage.objects.order_by("id").values_list("message_id", flat=True)
    ]

    assert stored == [first, *batch, last]
    assert {uuid.UUID(message_id).version for message_id in stored} == {7}
    assert first < min(batch) and max(batch) < last


def test_a_failed_batch_publish_queues_nothing():
    envelopes = [make_envelope() for _ in range(3)]
    real_insert = database.insert_new_rows

    def fail_after_writing(rows):
        real_insert(rows[:2])
        raise DATABASE_DOWN

    with (
        mock.patch.object(database, "insert_new_rows", side_effect=fail_after_writing),
        pytest.raises(QueueUnavailable),
    ):
        DatabaseQueue().publish_many(envelopes)

    assert QueueMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("publish", lambda queue: queue.publish(make_envelope())),
        ("publish_many", lambda queue: queue.publish_many([make_envelope()])),
        ("pull", lambda queue: queue.pull(10, 30)),
        ("stats", lambda queue: queue.stats()),
        ("check", lambda queue: queue.check()),
    ],
)
def test_a_database_error_becomes_queue_unavailable(method, call):
    with (
        mock.patch("processing.queues.database.QueueMessage.objects.create", side_effect=DATABASE_DOWN),
        mock.patch("processing.queues.database.insert_new_rows", side_effect=DATABASE_DOWN),
        mock.patch("processing.queues.database.QueueMessage.objects.filter", side_effect=DATABASE_DOWN),
        pytest.raises(QueueUnavailable),
    ):
        call(DatabaseQueue())


@contextmanager
def write_lock_held_elsewhere():
    """Another connection holds the lock a publish needs, as a migration or stuck transaction would."""
    if connection.vendor == "sqlite":
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=30, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {QueueMessage._meta.db_table} IN EXCLUSIVE MODE")
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(30)
        yield
    finally:
        release.set()
        holder.join(30)


def test_check_reports_the_queue_unavailable_while_its_write_lock_is_held_elsewhere():
    queue = DatabaseQueue()
    queue.publish(make_envelope())

    with write_lock_held_elsewhere(), pytest.raises(QueueUnavailable):
        queue.check()

    queue.check()
    queue.publish(make_envelope())  # the probe left the connection as it found it


def test_a_publish_while_the_write_lock_is_held_elsewhere_is_refused_within_seconds():
    queue = DatabaseQueue()

    with write_lock_held_elsewhere(), pytest.raises(QueueUnavailable):
        queue.publish(make_envelope())  # SQLite: busy timeout; PostgreSQL: lock_timeout

    assert QueueMessage.objects.count() == 0
    queue.publish(make_envelope())
    assert QueueMessage.objects.count() == 1


def test_ack_nack_and_extend_on_a_database_error_raise_queue_unavailable():
    queue = DatabaseQueue()
    queue.publish(make_envelope())
    [message] = queue.pull(1, 30)

    with mock.patch.object(connection, "cursor", side_effect=DATABASE_DOWN):
        for operation in (queue.ack, queue.nack, queue.dead_letter, lambda m: queue.extend_lease(m, 30)):
            with pytest.raises(QueueUnavailable):
                operation(message)


def test_messages_are_claimed_in_the_order_they_became_available():
    queue = DatabaseQueue()
    first, second, third = (queue.publish(make_envelope(f"log {n}")) for n in range(3))
    QueueMessage.objects.filter(message_id=first).update(available_at=timezone.now() - timedelta(seconds=1))
    QueueMessage.objects.filter(message_id=second).update(available_at=timezone.now() - timedelta(seconds=9))

    assert [message.message_id for message in queue.pull(3, 30)] == [second, first, third]


def test_replay_drops_the_dead_lettered_copy():
    queue = DatabaseQueue()
    envelope = make_envelope()
    queue.publish(envelope)
    [message] = queue.pull(1, 30)
    queue.dead_letter(message)
    assert queue.stats().dead_lettered == 1

    new_id = queue.replay(envelope)

    stats = queue.stats()
    assert (stats.depth, stats.dead_lettered) == (1, 0)
    assert [again.message_id for again in queue.pull(1, 30)] == [new_id]


def test_a_dead_lettered_row_is_kept_with_its_time():
    queue = DatabaseQueue()
    queue.publish(make_envelope(tenant_id="acme", log_id="123"))
    [message] = queue.pull(1, 30)

    queue.dead_letter(message)

    row = QueueMessage.objects.get()
    assert (row.state, row.tenant_id, row.log_id, row.lease_token) == (
        QueueMessage.STATE_DEAD,
        "acme",
        "123",
        None,
    )
    assert row.dead_lettered_at is not None


def test_a_message_from_another_backend_is_refused():
    memory = MemoryQueue()
    memory.publish(make_envelope())
    [foreign] = memory.pull(1, 30)

    with pytest.raises(TypeError):
        DatabaseQueue().ack(foreign)


def test_get_queue_builds_the_backend_named_by_the_setting():
    with override_settings(QUEUE_BACKEND="memory"):
        assert isinstance(get_queue(), MemoryQueue)
    # Leaving override_settings resets the cached backend too.
    assert isinstance(get_queue(), DatabaseQueue)


@pytest.mark.postgres
def test_postgresql_claims_skip_rows_locked_by_another_claimer():
    if connection.vendor != "postgresql":
        pytest.skip(
            "PostgreSQL only: runs in the PostgreSQL pass of make test (DATABASE_URL=postgres:///...)"
        )
    queue = DatabaseQueue()
    locked_id, *other_ids = queue.publish_many([make_envelope() for _ in range(3)])
    row_locked, release = threading.Event(), threading.Event()

    def hold_row_lock():
        with transaction.atomic():
            QueueMessage.objects.select_for_update().get(message_id=locked_id)
            row_locked.set()
            release.wait(30)

    holder = threading.Thread(target=lambda: (hold_row_lock(), connections.close_all()))
    holder.start()
    try:
        assert row_locked.wait(30)
        claimed = queue.pull(10, 30)
        # Returned while the lock was still held: the claim skipped the row instead of waiting.
        assert not release.is_set()
        assert sorted(message.message_id for message in claimed) == sorted(other_ids)
    finally:
        release.set()
        holder.join(30)
    assert [message.message_id for message in queue.pull(10, 30)] == [locked_id]


# -- tenants take turns, and claims stay cheap with a long backlog ---------------------------


def queue_backlog(tenant_id: str, count: int) -> None:
    """``count`` claimable rows of one tenant, written in bulk (a backlog to claim from)."""
    database.insert_new_rows(
        database._new_rows(
            (make_envelope(tenant_id=tenant_id, log_id=f"{tenant_id}-{n}") for n in range(count)),
            timezone.now(),
        )
    )


def claim_steps(queue: DatabaseQueue, count: int) -> tuple[list, int]:
    """Pull ``count`` messages; also how many SQLite virtual-machine steps every statement took."""
    steps = 0

    def count_steps() -> int:
        nonlocal steps
        steps += 100
        return 0

    connection.ensure_connection()
    connection.connection.set_progress_handler(count_steps, 100)
    try:
        return queue.pull(count, 30), steps
    finally:
        connection.connection.set_progress_handler(None, 100)


def test_a_new_tenants_log_is_claimed_at_once_behind_another_tenants_long_backlog():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 3000)
    newcomer = queue.publish(make_envelope(tenant_id="tenant-b", log_id="new"))

    claimed = queue.pull(16, 30)

    assert newcomer in [message.message_id for message in claimed[:2]]
    assert [message.envelope.log_id for message in claimed if message.message_id != newcomer] == [
        f"tenant-a-{n}" for n in range(15)
    ]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts SQLite's virtual-machine steps")
def test_a_claim_costs_no_more_with_30000_logs_waiting_than_with_300():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 300)
    queue.publish(make_envelope(tenant_id="tenant-b"))
    _, small = claim_steps(queue, 16)
    QueueMessage.objects.all().delete()
    queue_backlog("tenant-a", 30000)
    queue.publish(make_envelope(tenant_id="tenant-b"))

    claimed, large = claim_steps(queue, 16)

    assert len(claimed) == 16
    assert "tenant-b" in {message.envelope.tenant_id for message in claimed}
    # A scan of the backlog would be hundreds of thousands of steps; a claim is a few seeks.
    assert large < 2 * small + 5000, (small, large)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")
def test_every_statement_of_a_claim_searches_an_index_and_sorts_nothing():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 200)
    queue_backlog("tenant-b", 3)

    with CaptureQueriesContext(connection) as statements:
        assert len(queue.pull(16, 30)) == 16

    plans = {}
    with connection.cursor() as cursor:
        for statement in statements.captured_queries:
            sql = statement["sql"]
            if sql.startswith(("SELECT", "WITH", "UPDATE")):
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plans[sql[:60]] = [row[-1] for row in cursor.fetchall()]
    assert len(plans) >= 4, plans  # the look, the tenants, their shares, the claim
    table = QueueMessage._meta.db_table
    for plan in plans.values():
        steps = [step for step in plan if table in step]
        assert steps, plan
        assert all(step.startswith("SEARCH") for step in steps), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")
def test_an_ack_deletes_by_primary_key_whatever_the_backlog():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 300)
    claimed = queue.pull(16, 30)

    with CaptureQueriesContext(connection) as statements:
        queue.ack_many(claimed)

    [delete] = [
        statement["sql"] for statement in statements.captured_queries if statement["sql"].startswith("DELETE")
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {delete}")
        plan = [row[-1] for row in cursor.fetchall()]
    # Not the claimable index over the whole backlog (the planner's pick for "state = ?").
    assert plan and all("PRIMARY KEY" in step for step in plan), plan
    assert queue.depth() == 300 - 16


def test_a_claim_reads_each_row_as_the_orm_does():
    queue = DatabaseQueue()
    message_id = queue.publish(make_envelope("the text", tenant_id="tenant-a", log_id="log-1"))

    [message] = queue.pull(1, 30)

    row = QueueMessage.objects.get(message_id=message_id)
    assert message.message_id == message_id == str(row.message_id)
    assert message.published_at == row.published_at
    assert message.published_at.tzinfo is not None
    assert message.delivery_attempt == row.delivery_attempts == 1
    assert (message.envelope.text, message.envelope.tenant_id, message.envelope.log_id) == (
        "the text",
        "tenant-a",
        "log-1",
    )
    assert message.lease.token == row.lease_token
    assert row.available_at > timezone.now() + timedelta(seconds=25)


def test_an_ack_under_a_stale_lease_deletes_nothing():
    queue = DatabaseQueue()
    queue.publish(make_envelope())
    [stale] = queue.pull(1, 30)
    queue.nack(stale)
    [current] = queue.pull(1, 30)

    queue.ack_many([stale])

    assert queue.depth() == 1
    queue.ack_many([current])
    assert queue.depth() == 0


# -- depth, for intake's queue-depth caps and the per-tenant gauge ----------------------------


def test_depth_counts_waiting_delayed_and_leased_messages_per_tenant_but_no_dead_letters():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 5)
    queue.publish(make_envelope(tenant_id="tenant-b"))
    _leased, delayed, dead = queue.pull(3, 30)[:3]
    queue.nack(delayed, 600)
    queue.dead_letter(dead)

    assert queue.depth() == 5
    assert (queue.depth(tenant_id="tenant-a"), queue.depth(tenant_id="tenant-b")) == (4, 1)
    assert queue.depth(tenant_id="nobody") == 0
    assert queue.stats().depth_by_tenant == {"tenant-a": 4, "tenant-b": 1}


def test_depth_stops_counting_at_the_cap_asked_about():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 50)

    assert queue.depth(tenant_id="tenant-a", up_to=10) == 10
    assert queue.depth(up_to=49) == 49
    assert queue.depth(up_to=100) == 50


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN")
def test_depth_is_counted_from_an_index_alone():
    queue = DatabaseQueue()
    queue_backlog("tenant-a", 20)

    with CaptureQueriesContext(connection) as statements:
        queue.depth(tenant_id="tenant-a", up_to=10)
        queue.depth(up_to=10)
        queue.stats()

    with connection.cursor() as cursor:
        for statement in statements.captured_queries[:3]:  # the two depths and the per-tenant counts
            cursor.execute(f"EXPLAIN QUERY PLAN {statement['sql']}")
            steps = [row[-1] for row in cursor.fetchall() if QueueMessage._meta.db_table in row[-1]]
            assert steps and all("USING COVERING INDEX" in step for step in steps), (statement["sql"], steps)
