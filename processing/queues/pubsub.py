"""The queue on Google Cloud Pub/Sub (``QUEUE_BACKEND=pubsub``).

Publishing waits for the broker's acknowledgement, bounded by
``PUBSUB_PUBLISH_TIMEOUT``: a timeout or an API error becomes ``QueueUnavailable``,
which the API answers with 503 and ``Retry-After`` (never a 202 for a log the
broker does not hold, never a request hanging on an outage).

The worker consumes with streaming pull (``processing.consumers.streaming``),
flow-controlled to its concurrency, with leases extended in bounded steps so a
killed worker's messages come back within one step (docs/processing.md). A failed
message is given back with a delay by setting its ack deadline to the backoff
(``nack(delay)``), so failures do not become a redelivery storm. Attempts are
counted in the log store: Pub/Sub's own ``delivery_attempt`` only exists on
subscriptions with a dead-letter policy and also counts crashes and shutdowns.

Clients hold gRPC channels, which must not cross a ``fork()``: they are created
lazily, once per process, and recreated when the process id changes.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import TimeoutError as FutureTimeoutError

from django.conf import settings
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.message import Message as StreamedMessage

from core.envelope import LogEnvelope
from processing.queues.base import BaseQueue, QueueUnavailable, ReceivedMessage
from processing.queues.pubsub_backlog import SubscriptionBacklog

logger = logging.getLogger(__name__)

# Pub/Sub's bounds for an ack deadline (modify_ack_deadline and subscriptions).
MAX_ACK_DEADLINE_SECONDS = 600
MIN_LEASE_EXTENSION_SECONDS = 10
# Errors worth retrying within the publish timeout (the broker is briefly away).
TRANSIENT_ERRORS = (
    api_exceptions.ServiceUnavailable,
    api_exceptions.DeadlineExceeded,
    api_exceptions.InternalServerError,
    api_exceptions.Aborted,
    api_exceptions.ResourceExhausted,
    api_exceptions.Unknown,
)
PULL_TIMEOUT_SECONDS = 10.0
ACK_TIMEOUT_SECONDS = 10.0
CHECK_TIMEOUT_SECONDS = 2.0
RETRY_MARGIN_SECONDS = 0.5


def envelope_attributes(envelope: LogEnvelope) -> dict[str, str]:
    """Routing metadata readable without decoding the payload (filters, the console, Cloud Logging)."""
    return {
        "tenant_id": envelope.tenant_id,
        "log_id": envelope.log_id,
        "source": envelope.source,
        "received_at": envelope.received_at,
    }


def ack_deadline_seconds(seconds: float) -> int:
    """A delay or lease as a deadline Pub/Sub accepts: whole seconds in [0, 600]."""
    return max(0, min(MAX_ACK_DEADLINE_SECONDS, math.ceil(seconds)))


def lease_extension_seconds(lease_seconds: float) -> int:
    """One lease-extension step: also how long a killed worker's messages stay invisible."""
    return max(MIN_LEASE_EXTENSION_SECONDS, min(MAX_ACK_DEADLINE_SECONDS, math.ceil(lease_seconds)))


class PubSubQueue(BaseQueue):
    """``BaseQueue`` on one Pub/Sub topic, its worker subscription and a dead-letter topic."""

    # Batching tuned for latency: a request waits at most this long for company.
    batch_max_latency_seconds = 0.005
    batch_max_messages = 100
    batch_max_bytes = 4 * 1024 * 1024

    def __init__(self) -> None:
        self.project = settings.GOOGLE_CLOUD_PROJECT
        self.publish_timeout = float(settings.PUBSUB_PUBLISH_TIMEOUT)
        self.topic_path = pubsub_v1.PublisherClient.topic_path(self.project, settings.PUBSUB_TOPIC)
        self.dead_letter_topic_path = pubsub_v1.PublisherClient.topic_path(
            self.project, settings.PUBSUB_DEAD_LETTER_TOPIC
        )
        self.subscription_path = pubsub_v1.SubscriberClient.subscription_path(
            self.project, settings.PUBSUB_SUBSCRIPTION
        )
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._publisher: pubsub_v1.PublisherClient | None = None
        self._subscriber: pubsub_v1.SubscriberClient | None = None
        self._backlog: SubscriptionBacklog | None = None

    # -- clients, once per process ------------------------------------------------

    def _check_fork(self) -> None:
        """A forked child must not touch its parent's gRPC channels: forget them."""
        if self._pid != os.getpid():
            self._publisher = None
            self._subscriber = None
            self._pid = os.getpid()

    @property
    def publisher(self) -> pubsub_v1.PublisherClient:
        with self._lock:
            self._check_fork()
            if self._publisher is None:
                self._publisher = pubsub_v1.PublisherClient(
                    batch_settings=pubsub_v1.types.BatchSettings(
                        max_bytes=self.batch_max_bytes,
                        max_latency=self.batch_max_latency_seconds,
                        max_messages=self.batch_max_messages,
                    )
                )
            return self._publisher

    @property
    def subscriber(self) -> pubsub_v1.SubscriberClient:
        with self._lock:
            self._check_fork()
            if self._subscriber is None:
                self._subscriber = pubsub_v1.SubscriberClient()
            return self._subscriber

    def _publish_retry(self) -> api_retry.Retry:
        # The RPC's retries give up a little before the caller stops waiting, so the
        # caller usually learns why (UNAVAILABLE, NOT_FOUND...) rather than "timeout".
        return api_retry.Retry(
            predicate=api_retry.if_exception_type(*TRANSIENT_ERRORS),
            initial=0.1,
            maximum=1.0,
            multiplier=2.0,
            timeout=max(0.1, self.publish_timeout - RETRY_MARGIN_SECONDS),
        )

    # -- publishing -----------------------------------------------------------------

    def _start_publish(self, topic_path: str, data: bytes, attributes: dict[str, str]):
        try:
            return self.publisher.publish(
                topic_path, data, retry=self._publish_retry(), timeout=self.publish_timeout, **attributes
            )
        except Exception as exc:  # the client refuses before any RPC (stopped, bad size...)
            raise QueueUnavailable(f"Pub/Sub publish to {topic_path} failed: {exc}") from exc

    def _wait(self, future, topic_path: str, deadline: float) -> str:
        """The message id once the broker acknowledged, waiting no later than ``deadline``."""
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except (FutureTimeoutError, TimeoutError) as exc:
            raise QueueUnavailable(
                f"Pub/Sub did not acknowledge a publish to {topic_path} within {self.publish_timeout:g} s"
            ) from exc
        except Exception as exc:
            raise QueueUnavailable(f"Pub/Sub publish to {topic_path} failed: {exc}") from exc

    def _publish_and_wait(self, topic_path: str, data: bytes, attributes: dict[str, str]) -> str:
        deadline = time.monotonic() + self.publish_timeout
        return self._wait(self._start_publish(topic_path, data, attributes), topic_path, deadline)

    def publish(self, envelope: LogEnvelope) -> str:
        """Return once Pub/Sub acknowledged; at most PUBSUB_PUBLISH_TIMEOUT, else QueueUnavailable."""
        return self._publish_and_wait(self.topic_path, envelope.to_bytes(), envelope_attributes(envelope))

    def publish_many(self, envelopes: Iterable[LogEnvelope]) -> list[str]:
        """Hand every message to the batcher first, then wait for all: one round trip for a batch."""
        deadline = time.monotonic() + self.publish_timeout
        futures = [
            self._start_publish(self.topic_path, envelope.to_bytes(), envelope_attributes(envelope))
            for envelope in envelopes
        ]
        return [self._wait(future, self.topic_path, deadline) for future in futures]

    # -- unary pull (the contract's primitives; the worker uses consume) ----------

    def pull(self, max_messages: int, lease_seconds: float) -> list[ReceivedMessage]:
        """Unary pull that answers at once (like the database queue), then sets the lease.

        ``return_immediately`` is discouraged for throughput loops, which is why the
        worker uses ``consume`` (streaming pull) instead; this serves the contract,
        tools and tests. Pub/Sub may answer empty while messages wait: callers poll.
        """
        try:
            response = self.subscriber.pull(
                request={
                    "subscription": self.subscription_path,
                    "max_messages": max_messages,
                    "return_immediately": True,
                },
                timeout=PULL_TIMEOUT_SECONDS,
                retry=None,
            )
        except api_exceptions.GoogleAPICallError as exc:
            raise QueueUnavailable(f"Pub/Sub pull from {self.subscription_path} failed: {exc}") from exc
        if not response.received_messages:
            return []
        ack_ids = [received.ack_id for received in response.received_messages]
        self._modify_ack_deadline(ack_ids, ack_deadline_seconds(lease_seconds))
        messages = []
        for received in response.received_messages:
            message = received.message
            envelope = self.decode_delivered(
                message.data, dict(message.attributes), message.message_id, received.delivery_attempt
            )
            if envelope is None:
                self._acknowledge([received.ack_id])
                continue
            messages.append(
                ReceivedMessage(
                    message_id=message.message_id,
                    envelope=envelope,
                    delivery_attempt=received.delivery_attempt or 0,
                    published_at=message.publish_time,
                    lease=received.ack_id,
                )
            )
        return messages

    # An ack id from a lease that ran out (the message went to another consumer
    # since) is a no-op for Pub/Sub; some servers answer InvalidArgument for it.

    def _acknowledge(self, ack_ids: list[str]) -> None:
        try:
            self.subscriber.acknowledge(
                request={"subscription": self.subscription_path, "ack_ids": ack_ids},
                timeout=ACK_TIMEOUT_SECONDS,
            )
        except api_exceptions.InvalidArgument:
            logger.info("ack through an expired lease ignored", extra={"ack_ids": len(ack_ids)})
        except api_exceptions.GoogleAPICallError as exc:
            raise QueueUnavailable(f"Pub/Sub acknowledge failed: {exc}") from exc

    def _modify_ack_deadline(self, ack_ids: list[str], seconds: int) -> None:
        try:
            self.subscriber.modify_ack_deadline(
                request={
                    "subscription": self.subscription_path,
                    "ack_ids": ack_ids,
                    "ack_deadline_seconds": seconds,
                },
                timeout=ACK_TIMEOUT_SECONDS,
            )
        except api_exceptions.InvalidArgument:
            logger.info("lease change through an expired lease ignored", extra={"ack_ids": len(ack_ids)})
        except api_exceptions.GoogleAPICallError as exc:
            raise QueueUnavailable(f"Pub/Sub modify_ack_deadline failed: {exc}") from exc

    def ack(self, message: ReceivedMessage) -> None:
        if isinstance(message.lease, StreamedMessage):
            message.lease.ack()
        elif message.lease is not None:
            self._acknowledge([message.lease])

    def nack(self, message: ReceivedMessage, delay_seconds: float = 0.0) -> None:
        """Hand the message back after ``delay_seconds`` (at most 600 s, Pub/Sub's limit)."""
        deadline = ack_deadline_seconds(delay_seconds)
        if isinstance(message.lease, StreamedMessage):
            if deadline == 0:
                message.lease.nack()
            else:
                # Out of lease management first, or the library would keep extending it.
                message.lease.drop()
                message.lease.modify_ack_deadline(deadline)
        elif message.lease is not None:
            self._modify_ack_deadline([message.lease], deadline)

    def extend_lease(self, message: ReceivedMessage, lease_seconds: float) -> None:
        deadline = max(1, ack_deadline_seconds(lease_seconds))
        if isinstance(message.lease, StreamedMessage):
            message.lease.modify_ack_deadline(deadline)
        elif message.lease is not None:
            self._modify_ack_deadline([message.lease], deadline)

    # -- dead letters -------------------------------------------------------------

    def _dead_letter_attributes(self, message_id: str, delivery_attempt: int) -> dict[str, str]:
        return {
            "original_message_id": message_id,
            "subscription": self.subscription_path,
            "delivery_attempt": str(delivery_attempt),
        }

    def dead_letter(self, message: ReceivedMessage) -> None:
        """Publish to the dead-letter topic (and wait for it), then ack the original.

        A push delivery has no lease (``lease`` None): answering 2xx acknowledges it.
        """
        attributes = envelope_attributes(message.envelope) | self._dead_letter_attributes(
            message.message_id, message.delivery_attempt
        )
        self._publish_and_wait(self.dead_letter_topic_path, message.envelope.to_bytes(), attributes)
        self.ack(message)

    def decode_delivered(
        self, data: bytes, attributes: dict[str, str], message_id: str, delivery_attempt: int | None
    ) -> LogEnvelope | None:
        """The envelope of a delivered payload, or None after parking it on the dead-letter topic."""
        try:
            return LogEnvelope.from_bytes(data)
        except ValueError as exc:
            self._park(data, attributes, message_id, delivery_attempt or 0, str(exc))
            return None

    def dead_letter_payload(self, payload: bytes, *, message_id: str, reason: str) -> None:
        self._park(payload, {}, message_id, 0, reason)

    def _park(
        self, data: bytes, attributes: dict[str, str], message_id: str, delivery_attempt: int, reason: str
    ) -> None:
        logger.error(
            "undecodable message moved to the dead-letter topic",
            extra={"message_id": message_id, "error": reason[:500]},
        )
        dead_attributes = (
            attributes | self._dead_letter_attributes(message_id, delivery_attempt) | {"error": reason[:1000]}
        )
        self._publish_and_wait(self.dead_letter_topic_path, data, dead_attributes)

    # -- health -------------------------------------------------------------------

    def check(self) -> None:
        """The topic answers within a couple of seconds.

        PermissionDenied still proves the broker answers: a publisher-only service
        account may not read topic metadata, and readiness is about reachability.
        """
        try:
            self.publisher.get_topic(
                request={"topic": self.topic_path}, timeout=CHECK_TIMEOUT_SECONDS, retry=None
            )
        except api_exceptions.PermissionDenied:
            logger.warning("readiness: no permission to read topic metadata; the broker answered")
        except api_exceptions.GoogleAPICallError as exc:
            raise QueueUnavailable(f"Pub/Sub topic {self.topic_path} unavailable: {exc}") from exc

    # stats(): the base class answers "unknown"; the backlog lives in Cloud
    # Monitoring (subscription/num_undelivered_messages, oldest_unacked_message_age).

    def depth(self, *, tenant_id: str | None = None, up_to: int | None = None) -> int | None:
        """The subscription's whole backlog from Cloud Monitoring, a minute or two behind; no tenant's."""
        if tenant_id is not None:
            return None
        with self._lock:
            if self._backlog is None:
                self._backlog = SubscriptionBacklog(
                    self.project,
                    settings.PUBSUB_SUBSCRIPTION,
                    cache_seconds=float(settings.PUBSUB_BACKLOG_CACHE_SECONDS),
                )
            backlog = self._backlog
        return backlog.value()

    # The worker streams from this backend (processing.consumers.streaming).
    streaming_pull = True

    def close(self) -> None:
        with self._lock:
            publisher, subscriber = self._publisher, self._subscriber
            self._publisher = self._subscriber = None
            owned = self._pid == os.getpid()
        if not owned:
            return
        if publisher is not None:
            try:
                publisher.stop()  # flushes pending batches
            except Exception:
                logger.debug("stopping the Pub/Sub publisher failed", exc_info=True)
        if subscriber is not None:
            try:
                subscriber.close()
            except Exception:
                logger.debug("closing the Pub/Sub subscriber failed", exc_info=True)
