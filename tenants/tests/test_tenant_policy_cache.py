"""The tenant registry's cache: known tenants cached, unknown ones remembered only where asked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.records import KEEP_FOREVER
from tenants.auth import tenant_policy
from tenants.models import Tenant
from tenants.retention import retention_for

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def queries_of(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_the_workers_lookup_of_an_unknown_tenant_is_remembered_instead_of_a_query_per_log():
    assert retention_for("ghost", RECEIVED) == KEEP_FOREVER
    assert queries_of(lambda: retention_for("ghost", RECEIVED)) == 0
    assert retention_for("ghost", RECEIVED) == KEEP_FOREVER


def test_other_callers_never_take_the_remembered_unknown_answer():
    retention_for("late", RECEIVED)
    # Created by another process (no post_save here): a plain lookup goes to the registry.
    Tenant.objects.bulk_create([Tenant(id="late", retention_days=3)])
    policy = tenant_policy("late")
    assert policy is not None and policy.retention_days == 3


def test_registration_is_not_refused_by_a_remembered_unknown_tenant():
    retention_for("newcomer", RECEIVED)
    policy = tenant_policy("newcomer", register=True)
    assert policy is not None
    assert Tenant.objects.filter(pk="newcomer").exists()


def test_a_tenant_created_in_this_process_is_found_at_once_by_the_worker():
    assert retention_for("fresh", RECEIVED) == KEEP_FOREVER
    Tenant.objects.create(id="fresh", retention_days=10, original_text_retention_days=2)
    retention = retention_for("fresh", RECEIVED)
    assert retention.expires_at == datetime(2026, 12, 11, 10, 0, tzinfo=UTC)


def test_a_known_tenant_is_read_once_and_then_cached():
    Tenant.objects.create(id="known", retention_days=5)
    retention_for("known", RECEIVED)
    assert queries_of(lambda: retention_for("known", RECEIVED)) == 0
