"""The contract every queue backend passes, written only against ``BaseQueue``.

``QueueContract`` holds the tests; ``processing/tests/test_queue_contract.py``
runs them once per entry of its ``QUEUE_BACKENDS`` list through the parametrised
``queue_backend`` fixture, which asks for the fixture called ``<name>_queue_backend``.

Adding a backend (Pub/Sub, say) takes two things:

1. a fixture ``pubsub_queue_backend`` returning a ``QueueBackendCase`` around a
   fresh, EMPTY queue of that backend (a new topic and subscription per test),
   skipping through ``conftest.require_or_skip`` when its emulator is missing;
   define it in ``processing/tests/conftest.py`` (or import it into
   ``test_queue_contract.py``);
2. one line in ``QUEUE_BACKENDS``:
   ``pytest.param("pubsub", marks=pytest.mark.emulators),``.

A backend whose timing is coarser than the embedded ones (a broker round trip,
a minimum lease) says so in its ``QueueBackendCase``: the tests wait for
deliveries by polling up to a deadline derived from those numbers, never by a
fixed sleep, and "nothing is delivered" is checked for ``quiet_seconds``.

Contract details the tests pin down beyond the docstrings of ``BaseQueue``:

- ``publish`` returns a non-empty string id, the same id ``pull`` reports;
- ``pull`` hands out each message to one consumer at a time: a second pull
  while the lease holds gets nothing; when the lease runs out the message comes
  back with ``delivery_attempt`` one higher (when the backend counts deliveries);
- ``ack``, ``nack``, ``extend_lease`` and ``dead_letter`` through a lease that
  has since been handed to another consumer change nothing;
- ``dead_letter`` stops delivery and, with exact stats, counts in ``stats()``;
- on the backends that claim fairly (``FairClaimsContract``), one tenant's
  backlog does not hold back another tenant's message, and each tenant's messages
  still come oldest first.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass

from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope
from processing.queues.base import BaseQueue, ReceivedMessage
from tests.threads import in_threads


@dataclass
class QueueBackendCase:
    """A backend under test and how fast it can be expected to react."""

    queue: BaseQueue
    # The shortest lease the backend honours reliably (lease-expiry tests use it).
    short_lease: float = 0.5
    # A lease no test outlives.
    long_lease: float = 60.0
    # How long "nothing is delivered" is observed before believing it.
    quiet_seconds: float = 0.2
    # Upper bound for a message that should come back to actually come back.
    delivery_timeout: float = 10.0
    # stats() reports exact depth and dead-letter counts.
    exact_stats: bool = True
    # delivery_attempt counts deliveries (Pub/Sub without a dead-letter policy reports 0).
    counts_deliveries: bool = True


def make_envelope(
    label: str = "log", *, text: str = "User 555-0199 accessed the system", tenant_id: str | None = None
) -> LogEnvelope:
    return LogEnvelope(
        tenant_id=tenant_id or f"contract-{uuid.uuid4().hex[:10]}",
        log_id=f"{label}-{uuid.uuid4().hex[:10]}",
        source=SOURCE_JSON,
        text=text,
        request_id=uuid.uuid4().hex,
    )


def pull_until(
    case: QueueBackendCase, count: int, *, lease: float | None = None, timeout: float | None = None
) -> list[ReceivedMessage]:
    """Pull until ``count`` messages arrived (or the deadline passed); return what came."""
    deadline = time.monotonic() + (case.delivery_timeout if timeout is None else timeout)
    received: list[ReceivedMessage] = []
    while len(received) < count:
        received += case.queue.pull(count - len(received), case.long_lease if lease is None else lease)
        if len(received) >= count or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return received


def pull_redelivery(case: QueueBackendCase) -> list[ReceivedMessage]:
    """Wait for one message to come back after a short lease ran out."""
    return pull_until(case, 1, timeout=case.short_lease + case.delivery_timeout)


def pull_nothing_for(case: QueueBackendCase, seconds: float | None = None) -> list[ReceivedMessage]:
    """Keep pulling for ``seconds``; return anything that was (wrongly) delivered."""
    deadline = time.monotonic() + (case.quiet_seconds if seconds is None else seconds)
    delivered: list[ReceivedMessage] = []
    while True:
        delivered += case.queue.pull(10, case.long_lease)
        if time.monotonic() >= deadline:
            return delivered
        time.sleep(0.02)


class QueueContract:
    """Tests every backend must pass; ``queue_backend`` yields a ``QueueBackendCase``."""

    # -- publish and pull --------------------------------------------------------

    def test_a_published_message_is_pulled_with_its_envelope_intact(self, queue_backend):
        envelope = LogEnvelope(
            tenant_id="acme",
            log_id="123",
            source=SOURCE_TEXT,
            text='Ünïcødé ✓ line\nwith "quotes" and 555-0199',
            received_at="2024-01-15T12:30:45.123456+00:00",
            request_id="req-1",
            trace="trace-1",
        )
        message_id = queue_backend.queue.publish(envelope)

        [message] = pull_until(queue_backend, 1)

        assert isinstance(message_id, str) and message_id
        assert message.message_id == message_id
        assert message.envelope == envelope
        assert message.lease is not None

    def test_publish_many_queues_every_envelope_with_distinct_ids(self, queue_backend):
        envelopes = [make_envelope(f"batch{index}") for index in range(5)]

        message_ids = queue_backend.queue.publish_many(envelopes)
        received = pull_until(queue_backend, 5)

        assert len(message_ids) == len(set(message_ids)) == 5
        assert {message.message_id: message.envelope for message in received} == dict(
            zip(message_ids, envelopes, strict=True)
        )

    def test_pull_returns_at_most_the_requested_number(self, queue_backend):
        queue_backend.queue.publish_many([make_envelope() for _ in range(3)])
        first = pull_until(queue_backend, 2)

        assert len(first) == 2
        assert len(pull_until(queue_backend, 1)) == 1

    def test_pull_on_an_empty_queue_returns_nothing(self, queue_backend):
        assert pull_nothing_for(queue_backend) == []

    # -- leases ------------------------------------------------------------------

    def test_a_leased_message_is_hidden_from_a_second_puller(self, queue_backend):
        queue_backend.queue.publish(make_envelope())
        assert len(pull_until(queue_backend, 1)) == 1

        assert pull_nothing_for(queue_backend) == []

    def test_a_message_whose_lease_runs_out_is_delivered_again(self, queue_backend):
        message_id = queue_backend.queue.publish(make_envelope())
        [first] = pull_until(queue_backend, 1, lease=queue_backend.short_lease)

        [again] = pull_redelivery(queue_backend)

        assert again.message_id == first.message_id == message_id
        if queue_backend.counts_deliveries:
            assert (first.delivery_attempt, again.delivery_attempt) == (1, 2)

    def test_extend_lease_keeps_a_message_hidden_past_its_first_lease(self, queue_backend):
        queue_backend.queue.publish(make_envelope())
        lease = queue_backend.short_lease
        [message] = pull_until(queue_backend, 1, lease=lease)

        # Keep extending for three lease lengths: the message must never reappear.
        deadline = time.monotonic() + 3 * lease
        leaked = []
        while time.monotonic() < deadline:
            queue_backend.queue.extend_lease(message, lease)
            leaked += queue_backend.queue.pull(1, queue_backend.long_lease)
            time.sleep(lease / 4)

        assert leaked == []
        queue_backend.queue.ack(message)

    # -- ack, nack ---------------------------------------------------------------

    def test_an_acked_message_is_never_delivered_again(self, queue_backend):
        queue_backend.queue.publish(make_envelope())
        [message] = pull_until(queue_backend, 1, lease=queue_backend.short_lease)

        queue_backend.queue.ack(message)

        assert pull_nothing_for(queue_backend, queue_backend.short_lease + queue_backend.quiet_seconds) == []

    def test_ack_many_acks_messages_of_several_pulls_at_once(self, queue_backend):
        queue_backend.queue.publish_many([make_envelope(f"log {index}") for index in range(4)])
        first = pull_until(queue_backend, 2, lease=queue_backend.short_lease)
        second = pull_until(queue_backend, 2, lease=queue_backend.short_lease)

        queue_backend.queue.ack_many(first + second)

        assert pull_nothing_for(queue_backend, queue_backend.short_lease + queue_backend.quiet_seconds) == []

    def test_concurrent_acks_each_take_effect(self, queue_backend):
        total = 12
        queue_backend.queue.publish_many([make_envelope(f"log {index}") for index in range(total)])
        messages = pull_until(queue_backend, total, lease=queue_backend.short_lease)

        in_threads(total, lambda index: queue_backend.queue.ack(messages[index]))

        assert pull_nothing_for(queue_backend, queue_backend.short_lease + queue_backend.quiet_seconds) == []

    def test_a_nacked_message_comes_back_at_once_without_a_delay(self, queue_backend):
        message_id = queue_backend.queue.publish(make_envelope())
        [message] = pull_until(queue_backend, 1)

        queue_backend.queue.nack(message)
        [again] = pull_until(queue_backend, 1)

        assert again.message_id == message_id

    def test_a_nacked_message_waits_for_its_delay(self, queue_backend):
        message_id = queue_backend.queue.publish(make_envelope())
        [message] = pull_until(queue_backend, 1)
        delay = max(queue_backend.short_lease, 4 * queue_backend.quiet_seconds)

        nacked_at = time.monotonic()
        queue_backend.queue.nack(message, delay)
        early = pull_nothing_for(queue_backend, delay / 2)
        [again] = pull_until(queue_backend, 1, timeout=delay + queue_backend.delivery_timeout)

        assert early == []
        assert again.message_id == message_id
        assert time.monotonic() - nacked_at >= delay * 0.9

    def test_delivery_attempt_counts_every_delivery(self, queue_backend):
        if not queue_backend.counts_deliveries:
            assert all(m.delivery_attempt == 0 for m in self._deliver_three_times(queue_backend))
            return
        attempts = [message.delivery_attempt for message in self._deliver_three_times(queue_backend)]

        assert attempts == [1, 2, 3]

    @staticmethod
    def _deliver_three_times(case: QueueBackendCase) -> list[ReceivedMessage]:
        case.queue.publish(make_envelope())
        deliveries = []
        for _ in range(3):
            [message] = pull_until(case, 1)
            deliveries.append(message)
            case.queue.nack(message)
        return deliveries

    # -- stale leases ------------------------------------------------------------

    def test_an_ack_through_an_expired_lease_does_not_remove_the_redelivered_message(self, queue_backend):
        message_id = queue_backend.queue.publish(make_envelope())
        [stale] = pull_until(queue_backend, 1, lease=queue_backend.short_lease)
        [current] = pull_redelivery(queue_backend)

        queue_backend.queue.ack(stale)
        queue_backend.queue.nack(current)
        [again] = pull_until(queue_backend, 1)

        assert again.message_id == current.message_id == message_id

    def test_a_nack_or_dead_letter_through_an_expired_lease_changes_nothing(self, queue_backend):
        queue_backend.queue.publish(make_envelope())
        [stale] = pull_until(queue_backend, 1, lease=queue_backend.short_lease)
        [current] = pull_redelivery(queue_backend)

        queue_backend.queue.nack(stale)
        queue_backend.queue.dead_letter(stale)
        queue_backend.queue.extend_lease(stale, queue_backend.short_lease)

        # The current holder's lease stands: nobody else gets the message.
        assert pull_nothing_for(queue_backend) == []
        queue_backend.queue.ack(current)
        assert pull_nothing_for(queue_backend) == []
        if queue_backend.exact_stats:
            assert queue_backend.queue.stats().dead_lettered == 0

    # -- dead letters and stats --------------------------------------------------

    def test_a_dead_lettered_message_is_not_delivered_and_is_counted(self, queue_backend):
        queue_backend.queue.publish(make_envelope())
        [message] = pull_until(queue_backend, 1, lease=queue_backend.short_lease)

        queue_backend.queue.dead_letter(message)

        assert pull_nothing_for(queue_backend, queue_backend.short_lease + queue_backend.quiet_seconds) == []
        if queue_backend.exact_stats:
            stats = queue_backend.queue.stats()
            assert (stats.depth, stats.dead_lettered) == (0, 1)

    def test_a_payload_that_is_not_an_envelope_is_kept_aside_never_delivered(self, queue_backend):
        queue_backend.queue.dead_letter_payload(
            b"\xff not an envelope", message_id="raw-1", reason="not JSON"
        )

        assert pull_nothing_for(queue_backend) == []
        if queue_backend.exact_stats:
            assert queue_backend.queue.stats().dead_lettered == 1

    def test_a_message_without_a_lease_is_dead_lettered_as_a_new_dead_letter(self, queue_backend):
        """A push delivery has no lease (the HTTP answer acknowledges it): it is kept all the same."""
        envelope = make_envelope()
        pushed = ReceivedMessage(
            message_id="pushed-1", envelope=envelope, delivery_attempt=5, published_at=None
        )

        queue_backend.queue.dead_letter(pushed)

        assert pull_nothing_for(queue_backend) == []
        if queue_backend.exact_stats:
            assert queue_backend.queue.stats().dead_lettered == 1
        queue_backend.queue.replay(envelope)
        [again] = pull_until(queue_backend, 1)
        assert again.envelope == envelope
        if queue_backend.exact_stats:
            assert queue_backend.queue.stats().dead_lettered == 0

    def test_replay_puts_a_dead_lettered_log_back_on_the_queue(self, queue_backend):
        envelope = make_envelope()
        queue_backend.queue.publish(envelope)
        [message] = pull_until(queue_backend, 1)
        queue_backend.queue.dead_letter(message)

        queue_backend.queue.replay(envelope)
        [again] = pull_until(queue_backend, 1)

        assert again.envelope == envelope

    def test_stats_report_depth_and_age_of_the_backlog(self, queue_backend):
        stats = queue_backend.queue.stats()
        if not queue_backend.exact_stats:
            assert stats.depth is None or stats.depth >= 0
            return
        assert (stats.depth, stats.oldest_age_seconds, stats.dead_lettered) == (0, None, 0)

        queue_backend.queue.publish_many([make_envelope() for _ in range(3)])
        time.sleep(0.05)
        [leased] = pull_until(queue_backend, 1)
        stats = queue_backend.queue.stats()

        # Leased but unacked messages are still part of the backlog.
        assert stats.depth == 3
        assert stats.oldest_age_seconds is not None and stats.oldest_age_seconds >= 0.04
        queue_backend.queue.ack(leased)
        assert queue_backend.queue.stats().depth == 2

    def test_check_passes_when_the_backend_is_reachable(self, queue_backend):
        queue_backend.queue.check()

    # -- concurrency -------------------------------------------------------------

    def test_concurrent_pullers_each_get_a_message_exactly_once(self, queue_backend):
        total, pullers = 60, 6
        message_ids = set(queue_backend.queue.publish_many([make_envelope() for _ in range(total)]))

        def pull_until_idle(index: int) -> list[str]:
            pulled: list[str] = []
            idle_since = time.monotonic()
            while time.monotonic() - idle_since < max(queue_backend.quiet_seconds, 0.5):
                batch = queue_backend.queue.pull(4, queue_backend.long_lease)
                if batch:
                    idle_since = time.monotonic()
                pulled += [message.message_id for message in batch]
            return pulled

        received = in_threads(pullers, pull_until_idle)

        everything = [message_id for per_thread in received for message_id in per_thread]
        assert sorted(everything) == sorted(message_ids)
        assert len(everything) == len(set(everything)) == total


class FairClaimsContract:
    """What a backend that claims fairly across tenants adds (the embedded queues).

    One Pub/Sub subscription delivers in its own order, so it is not run there
    (docs/processing.md says which guarantee holds where).
    """

    def test_a_tenants_backlog_does_not_hold_back_another_tenants_message(self, queue_backend):
        backlog = queue_backend.queue.publish_many(
            [make_envelope(f"a{index}", tenant_id="tenant-a") for index in range(50)]
        )
        newcomer = queue_backend.queue.publish(make_envelope("b", tenant_id="tenant-b"))

        first = pull_until(queue_backend, 4)
        rest = pull_until(queue_backend, 47)

        assert newcomer in [message.message_id for message in first]
        # Each tenant's own messages still come oldest first.
        assert [message.message_id for message in first + rest if message.message_id != newcomer] == backlog

    def test_tenants_with_backlogs_take_turns(self, queue_backend):
        for tenant_id in ("tenant-a", "tenant-b", "tenant-c"):
            queue_backend.queue.publish_many([make_envelope(tenant_id=tenant_id) for _ in range(20)])

        claimed = [pull_until(queue_backend, 1)[0].envelope.tenant_id for _ in range(9)]
        claimed += [message.envelope.tenant_id for message in pull_until(queue_backend, 12)]

        assert Counter(claimed[:9]) == {"tenant-a": 3, "tenant-b": 3, "tenant-c": 3}
        assert Counter(claimed[9:]) == {"tenant-a": 4, "tenant-b": 4, "tenant-c": 4}
