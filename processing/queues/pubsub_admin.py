"""Create the Pub/Sub topics and subscriptions the queue needs, from settings.

For the emulators and development projects (``manage.py setup_pubsub``, test
fixtures); Terraform owns production. Every step is idempotent: what exists is
found and left as it is, unless its settings drifted, in which case it is updated.
Features a server refuses (the emulator lacks some) are skipped and reported.

The subscription's dead-letter policy is a safety net, not the worker's limit:
the worker dead-letters a log after ``WORKER_MAX_ATTEMPTS`` failed attempts
counted in the store. Pub/Sub counts every delivery, including those after a
crash, a shutdown or a store outage, so its limit
(``PUBSUB_MAX_DELIVERY_ATTEMPTS``) is higher; a log Pub/Sub dead-letters on its
own (a message that kills its worker every time) keeps its store status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1
from google.protobuf import duration_pb2, field_mask_pb2

from processing.queues.pubsub import MAX_ACK_DEADLINE_SECONDS

logger = logging.getLogger(__name__)

MIN_SUBSCRIPTION_ACK_DEADLINE = 10
# Pub/Sub's bounds for a dead-letter policy's max_delivery_attempts.
MIN_DELIVERY_ATTEMPTS, MAX_DELIVERY_ATTEMPTS = 5, 100
# Dead letters are kept for replay as long as Pub/Sub allows.
DEAD_LETTER_RETENTION_SECONDS = 7 * 24 * 3600
ADMIN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Step:
    kind: str  # "topic" | "subscription"
    name: str
    outcome: str  # "created" | "found" | "updated" | "skipped"
    detail: str = ""

    def __str__(self) -> str:
        line = f"{self.outcome:>8} {self.kind} {self.name}"
        return f"{line} ({self.detail})" if self.detail else line


def _duration(seconds: float) -> duration_pb2.Duration:
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))


def worker_ack_deadline() -> int:
    return int(
        max(MIN_SUBSCRIPTION_ACK_DEADLINE, min(MAX_ACK_DEADLINE_SECONDS, settings.WORKER_LEASE_SECONDS))
    )


def retry_policy() -> dict:
    minimum = max(0.0, min(float(MAX_ACK_DEADLINE_SECONDS), settings.WORKER_BACKOFF_BASE_SECONDS))
    maximum = max(minimum, min(float(MAX_ACK_DEADLINE_SECONDS), settings.WORKER_BACKOFF_MAX_SECONDS))
    return {"minimum_backoff": _duration(minimum), "maximum_backoff": _duration(maximum)}


def dead_letter_policy(dead_letter_topic: str) -> dict:
    attempts = max(MIN_DELIVERY_ATTEMPTS, min(MAX_DELIVERY_ATTEMPTS, settings.PUBSUB_MAX_DELIVERY_ATTEMPTS))
    return {"dead_letter_topic": dead_letter_topic, "max_delivery_attempts": attempts}


def push_config(endpoint: str) -> dict:
    config: dict = {"push_endpoint": endpoint}
    if settings.PUBSUB_PUSH_SERVICE_ACCOUNT:
        config["oidc_token"] = {
            "service_account_email": settings.PUBSUB_PUSH_SERVICE_ACCOUNT,
            "audience": settings.PUBSUB_PUSH_AUDIENCE or endpoint,
        }
    return config


class TopologyBuilder:
    def __init__(self) -> None:
        self.project = settings.GOOGLE_CLOUD_PROJECT
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.steps: list[Step] = []

    def close(self) -> None:
        self.subscriber.close()
        self.publisher.stop()

    def topic(self, topic_id: str) -> str:
        path = self.publisher.topic_path(self.project, topic_id)
        try:
            self.publisher.create_topic(request={"name": path}, timeout=ADMIN_TIMEOUT_SECONDS)
            self.steps.append(Step("topic", path, "created"))
        except api_exceptions.AlreadyExists:
            self.steps.append(Step("topic", path, "found"))
        return path

    def subscription(self, subscription_id: str, topic: str, *, optional: dict, **required) -> str:
        """Create with every ``optional`` feature the server accepts; update drift if it exists."""
        path = self.subscriber.subscription_path(self.project, subscription_id)
        wanted = dict(optional)
        skipped: list[str] = []
        while True:
            try:
                self.subscriber.create_subscription(
                    request={"name": path, "topic": topic, **required, **wanted},
                    timeout=ADMIN_TIMEOUT_SECONDS,
                )
                detail = f"without {', '.join(skipped)}: not supported here" if skipped else ""
                self.steps.append(Step("subscription", path, "created", detail))
                return path
            except api_exceptions.AlreadyExists:
                self._update_drift(path, topic, {**required, **wanted})
                return path
            except (api_exceptions.InvalidArgument, api_exceptions.Unimplemented) as exc:
                if not wanted:
                    raise
                feature = next(iter(wanted))
                logger.warning("subscription feature refused", extra={"feature": feature, "error": str(exc)})
                wanted.pop(feature)
                skipped.append(feature)

    def _update_drift(self, path: str, topic: str, wanted: dict) -> None:
        current = self.subscriber.get_subscription(
            request={"subscription": path}, timeout=ADMIN_TIMEOUT_SECONDS
        )
        if current.topic != topic:
            self.steps.append(
                Step("subscription", path, "found", f"WARNING: attached to {current.topic}, not {topic}")
            )
            return
        desired = pubsub_v1.types.Subscription(name=path, topic=topic, **wanted)
        changed = [
            field
            for field in wanted
            if field != "message_retention_duration" and getattr(current, field) != getattr(desired, field)
        ]
        if not changed:
            self.steps.append(Step("subscription", path, "found"))
            return
        try:
            self.subscriber.update_subscription(
                request={"subscription": desired, "update_mask": field_mask_pb2.FieldMask(paths=changed)},
                timeout=ADMIN_TIMEOUT_SECONDS,
            )
            self.steps.append(Step("subscription", path, "updated", ", ".join(changed)))
        except (api_exceptions.InvalidArgument, api_exceptions.Unimplemented) as exc:
            self.steps.append(
                Step("subscription", path, "found", f"could not update {', '.join(changed)}: {exc}")
            )


def ensure_topology(push_endpoint: str | None = None) -> list[Step]:
    """Topic, worker subscription, dead-letter topic and the dead letters' replay subscription.

    The worker subscription is a pull subscription, or pushes to ``push_endpoint``.
    """
    builder = TopologyBuilder()
    try:
        topic = builder.topic(settings.PUBSUB_TOPIC)
        dead_letter_topic = builder.topic(settings.PUBSUB_DEAD_LETTER_TOPIC)
        optional: dict = {
            "retry_policy": retry_policy(),
            "dead_letter_policy": dead_letter_policy(dead_letter_topic),
        }
        required: dict = {
            # Push: the longest a delivery may take, the bound the intake's limits are checked
            # against (ingest.E001); pull: the lease, which the streaming worker extends.
            "ack_deadline_seconds": (
                settings.PUBSUB_PUSH_ACK_DEADLINE_SECONDS if push_endpoint else worker_ack_deadline()
            ),
            # An empty push config is a pull subscription: switching back is drift too.
            "push_config": push_config(push_endpoint) if push_endpoint else {},
        }
        builder.subscription(settings.PUBSUB_SUBSCRIPTION, topic, optional=optional, **required)
        builder.subscription(
            settings.PUBSUB_DEAD_LETTER_SUBSCRIPTION,
            dead_letter_topic,
            optional={"message_retention_duration": _duration(DEAD_LETTER_RETENTION_SECONDS)},
            ack_deadline_seconds=MAX_ACK_DEADLINE_SECONDS,
        )
        return builder.steps
    finally:
        builder.close()
