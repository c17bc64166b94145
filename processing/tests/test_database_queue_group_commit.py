"""Group commit in the database queue: concurrent publishes share a transaction, none is acked early."""

import time
from unittest import mock

import pytest
from django.db import OperationalError, transaction

from processing.models import QueueMessage
from processing.queues import database
from processing.queues.base import QueueUnavailable
from processing.queues.database import DatabaseQueue
from processing.tests.conftest import make_envelope
from tests.threads import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


def publish_concurrently(queue: DatabaseQueue, count: int = THREADS) -> list:
    """``count`` threads publish at once; each result is a message id or the exception raised."""

    def publish(index: int):
        try:
            return queue.publish(make_envelope(f"log {index}"))
        except Exception as exc:
            return exc

    return in_threads(count, publish)


def test_concurrent_publishes_share_commits_and_each_row_is_stored():
    queue = DatabaseQueue()
    real_insert = database.insert_new_rows
    batch_sizes = []

    def slow_insert(rows):
        batch_sizes.append(len(rows))
        if len(batch_sizes) == 1:
            time.sleep(0.2)  # the others queue up behind the first commit meanwhile
        return real_insert(rows)

    with mock.patch.object(database, "insert_new_rows", side_effect=slow_insert):
        message_ids = publish_concurrently(queue)

    assert all(isinstance(message_id, str) for message_id in message_ids)
    stored = {str(value) for value in QueueMessage.objects.values_list("message_id", flat=True)}
    assert stored == set(message_ids)
    assert sum(batch_sizes) == THREADS
    assert len(batch_sizes) < THREADS


def test_a_failed_group_commit_fails_every_publish_in_it_and_stores_nothing():
    queue = DatabaseQueue()

    with mock.patch.object(database, "insert_new_rows", side_effect=OperationalError("disk I/O error")):
        results = publish_concurrently(queue)

    assert all(isinstance(result, QueueUnavailable) for result in results)
    assert QueueMessage.objects.count() == 0


def test_the_queue_works_again_after_a_failed_group_commit():
    queue = DatabaseQueue()
    with (
        mock.patch.object(database, "insert_new_rows", side_effect=OperationalError("disk I/O error")),
        pytest.raises(QueueUnavailable),
    ):
        queue.publish(make_envelope())

    message_id = queue.publish(make_envelope())

    assert [str(value) for value in QueueMessage.objects.values_list("message_id", flat=True)] == [message_id]


def test_a_publish_inside_a_callers_transaction_rolls_back_with_it():
    queue = DatabaseQueue()

    with pytest.raises(RuntimeError), transaction.atomic():
        queue.publish(make_envelope())
        raise RuntimeError("the caller changes its mind")

    assert QueueMessage.objects.count() == 0
