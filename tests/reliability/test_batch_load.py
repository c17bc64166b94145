"""Eight clients posting 500-line NDJSON batches while the worker drains: no 503 under ordinary load.

The embedded queue (SQLite by default) has one writer at a time: the API's batch
inserts and the worker's claims, results and acks all queue for it. Ordinary load
must wait its turn, never be refused; a 503 is for a queue that is really away
(tests/reliability/test_queue_outage.py). The same load for 30 s is the
"NDJSON batches, embedded, 8 connections" row of ``make bench``.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter

import pytest

from tests.reliability.services import request

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
LINES_PER_BATCH = 500
SECONDS = float(os.environ.get("BATCH_LOAD_SECONDS", "6"))


def ndjson_batch(tenant_id: str) -> bytes:
    return "\n".join(
        json.dumps(
            {"tenant_id": tenant_id, "log_id": uuid.uuid4().hex, "text": f"User 555-0199 did thing {n}"}
        )
        for n in range(LINES_PER_BATCH)
    ).encode()


def test_eight_clients_posting_500_line_batches_are_never_refused(services):
    api = services.api(workers=2, threads=8, PROCESSING_DELAY_PER_CHAR=0)
    services.worker("--concurrency", "16", PROCESSING_DELAY_PER_CHAR=0)
    statuses: Counter[int | None] = Counter()
    details: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def client(number: int) -> None:
        body = ndjson_batch(f"batch-load-{number}")
        while time.monotonic() < stop_at:
            status, _headers, answer = request(
                "POST",
                api.base_url + "/ingest",
                body=body.replace(b'"log_id": "', f'"log_id": "{uuid.uuid4().hex[:8]}-'.encode()),
                headers={"Content-Type": "application/x-ndjson"},
                timeout=30,
            )
            with lock:
                statuses[status] += 1
                if status != 202:
                    details.append(answer.decode(errors="replace")[:300])

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 60)

    print("batch load statuses", dict(statuses))
    assert statuses[202] >= CLIENTS, statuses
    assert set(statuses) == {202}, (statuses, details[:3])
