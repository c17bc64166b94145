"""The harness's hands inside one backend configuration: a Django process driven over stdin.

The runner starts ``python -m bench.probe`` with the same environment as the API
and worker it measures, then sends one JSON command per line and reads one JSON
answer per line. Everything goes through the public backend contracts
(``get_queue()``, ``get_store()``), so the probe sees exactly what the service
sees, on any backend.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
# Answers go to the real stdout; anything else that prints (the JSON log lines
# the settings send to stdout, client libraries) goes to stderr, the probe's log.
PROTOCOL = sys.stdout
sys.stdout = sys.stderr

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope  # noqa: E402
from core.records import ProcessedLog  # noqa: E402
from processing.queues import QueueUnavailable, get_queue  # noqa: E402
from tenants.stores import STATUS_PROCESSED, StoreUnavailable, get_store  # noqa: E402

FILL_CHUNK = 1000
# As many tenants as the drains use, so the bookkeeping writes per batch are alike.
TENANTS_FOR_STORE_RATE = 20


def tenant_ids(count: int) -> list[str]:
    return [f"bench-t{index:02d}" for index in range(count)]


def setup() -> dict:
    """Create the Pub/Sub topology (the database queue needs only its migrations)."""
    if settings.QUEUE_BACKEND == "pubsub":
        from processing.queues.pubsub_admin import ensure_topology

        ensure_topology()
    # A freshly started emulator can miss the readiness probe's short deadline.
    for attempt in range(10):
        try:
            get_queue().check()
            get_store().check()
            break
        except (QueueUnavailable, StoreUnavailable):
            if attempt == 9:
                raise
            time.sleep(2)
    return {"queue": settings.QUEUE_BACKEND, "store": settings.LOG_STORE_BACKEND}


def fill(count: int, tenants: int, prefix: str) -> dict:
    """Put ``count`` logs straight on the queue (no HTTP): the backlog a drain starts from."""
    queue = get_queue()
    ids = tenant_ids(tenants)
    started = time.perf_counter()
    for first in range(0, count, FILL_CHUNK):
        envelopes = [
            LogEnvelope(
                tenant_id=ids[index % tenants],
                log_id=f"{prefix}-{index}",
                source=SOURCE_JSON if index % 2 else SOURCE_TEXT,
                text=f"User 555-0199 accessed the system, entry {index}",
            )
            for index in range(first, min(count, first + FILL_CHUNK))
        ]
        queue.publish_many(envelopes)
    return {"published": count, "seconds": round(time.perf_counter() - started, 2)}


def processed(tenants: int) -> int:
    store = get_store()
    return sum(store.counts(tenant).get(STATUS_PROCESSED, 0) for tenant in tenant_ids(tenants))


def queue_depth() -> int | None:
    try:
        return get_queue().stats().depth
    except Exception:
        return None


def wait_processed(count: int, tenants: int, timeout: float, poll: float = 0.2) -> dict:
    """Poll until ``count`` logs are processed: when the first and the last were seen."""
    deadline = time.monotonic() + timeout
    first_seen = None
    done = processed(tenants)
    while done < count and time.monotonic() < deadline:
        time.sleep(poll)
        done = processed(tenants)
        if done and first_seen is None:
            first_seen = time.time()
    return {"processed": done, "first_seen": first_seen, "done_at": time.time(), "complete": done >= count}


class Watch:
    """Samples processed count and queue depth every ``interval`` seconds on a thread."""

    def __init__(self, tenants: int, interval: float) -> None:
        self.tenants = tenants
        self.interval = interval
        self.samples: list[dict] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                started = time.time()
                self.samples.append(
                    {"at": started, "processed": processed(self.tenants), "depth": queue_depth()}
                )
                self.stop_event.wait(max(0.0, self.interval - (time.time() - started)))
        finally:
            close_old_connections()


def processed_times(tenants: int) -> dict:
    """``{tenant/log_id: processed_at (epoch seconds)}`` for every processed record."""
    store = get_store()
    times = {}
    for tenant in tenant_ids(tenants):
        cursor = None
        while True:
            page = store.list_logs(tenant, status=STATUS_PROCESSED, limit=500, cursor=cursor)
            for record in page.records:
                if record.processed_at is not None:
                    processed_at = record.processed_at
                    if processed_at.tzinfo is None:
                        processed_at = processed_at.replace(tzinfo=UTC)
                    times[f"{tenant}/{record.log_id}"] = processed_at.timestamp()
            cursor = page.next_cursor
            if cursor is None:
                break
    return {"times": times}


def raw_pull(count: int) -> dict:
    """The emulator's own ceiling: publish ``count`` messages, then pull and ack them, no work."""
    from google.cloud import pubsub_v1

    project = settings.GOOGLE_CLOUD_PROJECT
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    results = {}
    for method in ("unary", "streaming"):
        name = f"bench-raw-{method}-{uuid.uuid4().hex[:8]}"
        topic = publisher.topic_path(project, name)
        subscription = subscriber.subscription_path(project, name)
        publisher.create_topic(name=topic)
        subscriber.create_subscription(name=subscription, topic=topic, ack_deadline_seconds=60)
        futures = [publisher.publish(topic, b'{"text":"raw pull ceiling"}') for _ in range(count)]
        for future in futures:
            future.result()
        started = time.perf_counter()
        if method == "unary":
            received = _unary_drain(subscriber, subscription, count)
        else:
            received = _streaming_drain(subscriber, subscription, count)
        seconds = time.perf_counter() - started
        results[method] = {
            "messages": received,
            "seconds": round(seconds, 2),
            "rate": round(received / seconds),
        }
        subscriber.delete_subscription(subscription=subscription)
        publisher.delete_topic(topic=topic)
    subscriber.close()
    return results


def store_write_rate(count: int, batch: int, threads: int) -> dict:
    """The log store's own write ceiling: ``count`` new results saved with ``save_results``.

    ``threads`` threads each save batches of ``batch`` results, with no queue and no
    work around them: the most logs per second the worker could ever store here.
    """
    store = get_store()
    tenants = tenant_ids(TENANTS_FOR_STORE_RATE)
    prefix = f"store-rate-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    results = [
        ProcessedLog(
            LogEnvelope(
                tenant_id=tenants[index % len(tenants)],
                log_id=f"{prefix}-{index}",
                source=SOURCE_JSON,
                text=f"User [REDACTED] accessed the system, entry {index}",
            ),
            f"User [REDACTED] accessed the system, entry {index}",
            f"{prefix}-{index}",
            now,
        )
        for index in range(count)
    ]
    batches = [results[first : first + batch] for first in range(0, count, batch)]
    lock = threading.Lock()

    def save() -> None:
        while True:
            with lock:
                if not batches:
                    return
                next_batch = batches.pop()
            store.save_results(next_batch)

    workers = [threading.Thread(target=save) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    return {
        "logs": count,
        "batch": batch,
        "threads": threads,
        "seconds": round(seconds, 2),
        "rate": round(count / seconds),
    }


def _unary_drain(subscriber, subscription: str, count: int) -> int:
    received = 0
    idle_deadline = time.monotonic() + 10
    while received < count and time.monotonic() < idle_deadline:
        response = subscriber.pull(subscription=subscription, max_messages=1000, timeout=10)
        ack_ids = [message.ack_id for message in response.received_messages]
        if ack_ids:
            subscriber.acknowledge(subscription=subscription, ack_ids=ack_ids)
            received += len(ack_ids)
            idle_deadline = time.monotonic() + 10
    return received


def _streaming_drain(subscriber, subscription: str, count: int) -> int:
    from google.cloud.pubsub_v1.types import FlowControl

    lock = threading.Lock()
    state = {"received": 0}
    finished = threading.Event()

    def callback(message) -> None:
        message.ack()
        with lock:
            state["received"] += 1
            if state["received"] >= count:
                finished.set()

    future = subscriber.subscribe(subscription, callback, flow_control=FlowControl(max_messages=1000))
    finished.wait(timeout=120)
    future.cancel()
    # A cancelled stream ends with an error by design.
    with contextlib.suppress(Exception):
        future.result(timeout=10)
    return state["received"]


def main() -> None:
    watches: dict[str, Watch] = {}
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            if name == "setup":
                answer = setup()
            elif name == "fill":
                answer = fill(**command)
            elif name == "processed":
                answer = {"processed": processed(**command)}
            elif name == "wait_processed":
                answer = wait_processed(**command)
            elif name == "watch_start":
                watch = Watch(**command)
                watches["current"] = watch
                watch.thread.start()
                answer = {}
            elif name == "watch_stop":
                watch = watches.pop("current")
                watch.stop_event.set()
                watch.thread.join()
                answer = {"samples": watch.samples}
            elif name == "processed_times":
                answer = processed_times(**command)
            elif name == "raw_pull":
                answer = raw_pull(**command)
            elif name == "store_write_rate":
                answer = store_write_rate(**command)
            elif name == "quit":
                break
            else:
                answer = {"error": f"unknown command {name!r}"}
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        PROTOCOL.write(json.dumps(answer) + "\n")
        PROTOCOL.flush()
    get_queue().close()
    get_store().close()


if __name__ == "__main__":
    main()
