"""Handler threads hand their database connections back around long work."""

import threading
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings

from processing.db import release_thread_connections
from processing.tests.conftest import make_envelope
from processing.worker import decide


def in_thread(function):
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    return outcome["value"]


@pytest.mark.django_db(transaction=True)
def test_it_closes_this_threads_open_connection():
    def use_then_release():
        connection.ensure_connection()
        release_thread_connections()
        return connection.connection

    assert in_thread(use_then_release) is None


@pytest.mark.django_db
def test_it_leaves_a_connection_inside_a_transaction_alone():
    with transaction.atomic():
        connection.ensure_connection()
        release_thread_connections()

        assert connection.connection is not None
        assert not connection.needs_rollback


@override_settings(PROCESSING_DELAY_PER_CHAR=0.01)
def test_decide_hands_connections_back_before_long_work(memory_store):
    with (
        mock.patch("processing.worker.release_thread_connections") as release,
        mock.patch("processing.pipeline.time.sleep"),
    ):
        decide(make_envelope("x" * 100), message_id="m", delivery_attempt=1, store=memory_store)

    release.assert_called_once_with()


@override_settings(PROCESSING_DELAY_PER_CHAR=0)
def test_decide_keeps_its_connection_for_instant_work(memory_store):
    with mock.patch("processing.worker.release_thread_connections") as release:
        decide(make_envelope("x" * 100), message_id="m", delivery_attempt=1, store=memory_store)

    release.assert_not_called()
