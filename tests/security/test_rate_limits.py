"""One tenant over its rate is slowed down; nobody else is, and nobody can use up its rate.

With real API keys and the real (database) queue: the tenant over its limit gets
429 with ``Retry-After`` and nothing queued, while another tenant keeps getting
202s; requests another key makes in its name are refused before they count.
The counters are per process with the default cache (``tenants/throttling.py``):
this is what one API process guarantees.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from processing.models import QueueMessage
from tenants.models import Tenant, TenantAPIKey

RATE = 3


@pytest.fixture
def tenants(db, settings):
    settings.INGEST_AUTH = "api_key"
    settings.QUEUE_BACKEND = "database"
    keys = {}
    for tenant_id, rate in (("slow", RATE), ("busy", 1000)):
        tenant = Tenant.objects.create(id=tenant_id, rate_limit_per_minute=rate)
        keys[tenant_id] = TenantAPIKey.objects.create_key(name="k", tenant=tenant)[1]
    keys["slow-second-key"] = TenantAPIKey.objects.create_key(name="k2", tenant_id="slow")[1]
    return keys


def post(key: str, tenant_id: str, log_id: str):
    body = json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "hello"})
    return Client().post("/ingest", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_tenant_over_its_rate_gets_429_with_retry_after_while_another_is_unaffected(tenants):
    answers = []
    for number in range(RATE + 2):
        answers.append(post(tenants["slow"], "slow", f"s{number}").status_code)
        assert post(tenants["busy"], "busy", f"b{number}").status_code == 202
    over = post(tenants["slow"], "slow", "over")

    assert answers == [202] * RATE + [429, 429]
    assert over.status_code == 429
    assert 1 <= int(over["Retry-After"]) <= 120  # a sliding window: at most into the next minute
    assert over.json()["error"] and "rate" in over.json()["detail"]
    assert sorted(QueueMessage.objects.filter(tenant_id="slow").values_list("log_id", flat=True)) == [
        f"s{number}" for number in range(RATE)
    ]
    assert QueueMessage.objects.filter(tenant_id="busy").count() == RATE + 2


def test_the_rate_is_the_tenants_not_the_keys(tenants):
    for number in range(RATE):
        assert post(tenants["slow"], "slow", f"s{number}").status_code == 202
    assert post(tenants["slow-second-key"], "slow", "other-key").status_code == 429


def test_another_tenants_key_cannot_use_up_a_tenants_rate(tenants):
    for number in range(10):
        assert post(tenants["busy"], "slow", f"forged-{number}").status_code == 403
    assert [post(tenants["slow"], "slow", f"s{number}").status_code for number in range(RATE)] == [202] * RATE
