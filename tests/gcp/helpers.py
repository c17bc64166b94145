"""Small helpers for tests against the Pub/Sub and Firestore emulators."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from google.cloud import firestore, pubsub_v1

from core.envelope import SOURCE_JSON, LogEnvelope

T = TypeVar("T")


def new_envelope(
    text: str = "User 555-0199 accessed the system", *, tenant_id: str | None = None
) -> LogEnvelope:
    return LogEnvelope(
        tenant_id=tenant_id or f"gcp-{uuid.uuid4().hex[:8]}",
        log_id=uuid.uuid4().hex[:12],
        source=SOURCE_JSON,
        text=text,
        request_id=uuid.uuid4().hex,
    )


def wait_for(condition: Callable[[], T], *, timeout: float, interval: float = 0.2, message: str = "") -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message or condition}")
        time.sleep(interval)


def pull_raw(subscription_id: str, *, max_messages: int = 100, wait: float = 5.0) -> list:
    """Messages on a subscription, acked (the dead-letter replay subscription, say)."""
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(settings.GOOGLE_CLOUD_PROJECT, subscription_id)
    received, deadline = [], time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            response = subscriber.pull(
                request={"subscription": path, "max_messages": max_messages, "return_immediately": True},
                timeout=10,
            )
            if response.received_messages:
                received += [item.message for item in response.received_messages]
                subscriber.acknowledge(
                    request={
                        "subscription": path,
                        "ack_ids": [item.ack_id for item in response.received_messages],
                    }
                )
                deadline = min(deadline, time.monotonic() + 1.0)  # a little longer for stragglers
            time.sleep(0.1)
    finally:
        subscriber.close()
    return received


def firestore_document(tenant_id: str, log_id: str) -> dict | None:
    """The raw Firestore document at ``tenants/{tenant_id}/processed_logs/{log_id}``."""
    client = firestore.Client(project=settings.GOOGLE_CLOUD_PROJECT, database=settings.FIRESTORE_DATABASE)
    try:
        snapshot = client.document("tenants", tenant_id, "processed_logs", log_id).get()
        return snapshot.to_dict() if snapshot.exists else None
    finally:
        client.close()
