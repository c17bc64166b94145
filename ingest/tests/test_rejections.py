"""Rejected records are counted by tenant and reason (metrics, and a week of hourly rows), never with their text."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from prometheus_client import REGISTRY

from ingest import rejections
from ingest.models import IntakeRejection
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_mode")]

SECRET = "card 4111 1111 1111 1111 of Zoë"


def rejected_total(tenant, reason):
    value = REGISTRY.get_sample_value(
        "dataproc_ingest_logs_rejected_total", {"tenant": tenant, "reason": reason}
    )
    return value or 0.0


def post_ndjson(client, *records, **headers):
    body = "\n".join(record if isinstance(record, str) else json.dumps(record) for record in records)
    return client.post("/ingest", data=body, content_type="application/x-ndjson", headers=headers)


@pytest.fixture
def acme_tenant(db):
    return Tenant.objects.create(id="acme")


def test_a_partial_success_counts_each_reason_for_the_tenant(client, queue, acme_tenant):
    before = (rejected_total("acme", "invalid_text"), rejected_total("acme", "invalid_json"))

    response = post_ndjson(
        client, {"message": "ok"}, {"message": ""}, {"message": " "}, "{" + SECRET, **{"X-Tenant-ID": "acme"}
    )

    assert response.status_code == 202
    assert rejected_total("acme", "invalid_text") - before[0] == 2
    assert rejected_total("acme", "invalid_json") - before[1] == 1
    rows = {(row.reason, row.source): row.count for row in IntakeRejection.objects.filter(tenant_id="acme")}
    assert rows == {("invalid_text", "json_upload"): 2, ("invalid_json", "json_upload"): 1}


def test_a_batch_with_nothing_valid_is_counted_too(client, queue, acme_tenant):
    response = post_ndjson(client, {"message": ""}, {"text": 5}, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 400
    assert sum(IntakeRejection.objects.filter(tenant_id="acme").values_list("count", flat=True)) == 2


def test_rows_are_incremented_in_place_within_the_hour(client, queue, acme_tenant):
    for _ in range(3):
        post_ndjson(client, {"message": "ok"}, {"message": ""}, **{"X-Tenant-ID": "acme"})

    [row] = IntakeRejection.objects.all()
    assert (row.tenant_id, row.reason, row.count) == ("acme", "invalid_text", 3)
    assert row.first_at <= row.last_at
    assert row.hour == rejections.hour_of(row.first_at)


def test_nothing_of_the_rejected_record_is_kept_but_its_reason(client, queue, acme_tenant):
    post_ndjson(client, {"message": "ok"}, {"log": SECRET, "log_id": "../x"}, **{"X-Tenant-ID": "acme"})

    stored = json.dumps(list(IntakeRejection.objects.values()), default=str)
    assert "invalid_log_id" in stored
    assert "4111" not in stored
    assert "Zoë" not in stored


def test_a_record_naming_another_tenant_counts_for_the_requests_tenant_only(client, queue, acme_tenant):
    Tenant.objects.create(id="beta_inc")

    post_ndjson(
        client, {"message": "ok"}, {"message": "x", "tenant_id": "beta_inc"}, **{"X-Tenant-ID": "acme"}
    )

    assert list(IntakeRejection.objects.values_list("tenant_id", "reason")) == [("acme", "forbidden_tenant")]


def test_unknown_tenants_get_no_rows_and_count_as_other(client, queue):
    before = rejected_total("other", "invalid_text")

    post_ndjson(client, {"message": ""}, {"message": " "}, **{"X-Tenant-ID": "nobody-knows"})

    assert IntakeRejection.objects.count() == 0
    assert rejected_total("other", "invalid_text") - before == 2


def test_a_request_without_rejections_writes_nothing(client, queue, acme_tenant, django_assert_num_queries):
    post_ndjson(client, {"message": "warm-up"}, **{"X-Tenant-ID": "acme"})

    with django_assert_num_queries(0):
        post_ndjson(client, {"message": "ok"}, **{"X-Tenant-ID": "acme"})

    assert IntakeRejection.objects.count() == 0


def test_otlp_rejections_are_counted_under_their_source(client, queue, acme_tenant):
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": {"stringValue": "ok"}}, {}]}]}]}

    client.post(
        "/v1/logs", data=json.dumps(body), content_type="application/json", headers={"X-Tenant-ID": "acme"}
    )

    assert list(IntakeRejection.objects.values_list("source", "reason", "count")) == [
        ("otlp", "missing_text", 1)
    ]


def test_a_refusal_the_client_will_resend_is_not_counted(client, settings, acme_tenant):
    settings.QUEUE_BACKEND = "tests.doubles.UnavailableQueue"

    response = post_ndjson(client, {"message": "ok"}, {"message": ""}, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 503
    assert IntakeRejection.objects.count() == 0


def test_rows_older_than_a_week_are_pruned_when_a_new_row_is_made(client, queue, acme_tenant):
    old = timezone.now() - timedelta(days=rejections.KEEP_DAYS, hours=2)
    IntakeRejection.objects.create(
        tenant_id="acme",
        source="otlp",
        reason="invalid_text",
        hour=rejections.hour_of(old),
        count=5,
        first_at=old,
        last_at=old,
    )

    post_ndjson(client, {"message": "ok"}, {"message": ""}, **{"X-Tenant-ID": "acme"})

    assert list(IntakeRejection.objects.values_list("source", "count")) == [("json_upload", 1)]


def test_a_database_failure_never_fails_the_request(client, queue, acme_tenant, monkeypatch):
    from django.db import OperationalError

    def fail(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(rejections, "_store", fail)

    response = post_ndjson(client, {"message": "ok"}, {"message": ""}, **{"X-Tenant-ID": "acme"})

    assert response.status_code == 202


# -- the console page (admin: Ingest > Intake rejections) -------------------------------------


@pytest.fixture
def rows(db):
    now = timezone.now()
    for tenant_id in ("acme", "globex"):
        Tenant.objects.get_or_create(id=tenant_id)
        IntakeRejection.objects.create(
            tenant_id=tenant_id,
            source="json_upload",
            reason="text_too_long",
            hour=rejections.hour_of(now),
            count=7,
            first_at=now,
            last_at=now,
        )


def staff_of(tenant_id):
    user = User.objects.create_user(f"staff-{tenant_id}", password="x", is_staff=True)
    Tenant.objects.get(id=tenant_id).staff.add(user)
    return user


def test_staff_see_the_rejections_of_their_tenants_only(client, rows):
    client.force_login(staff_of("acme"))

    response = client.get("/admin/ingest/intakerejection/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "text_too_long" in page
    assert [row.tenant_id for row in response.context["cl"].result_list] == ["acme"]


def test_superusers_see_every_tenants_and_can_filter_by_tenant(client, rows):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))

    every = client.get("/admin/ingest/intakerejection/")
    acme = client.get("/admin/ingest/intakerejection/?tenant_id__exact=acme")

    assert {row.tenant_id for row in every.context["cl"].result_list} == {"acme", "globex"}
    assert [row.tenant_id for row in acme.context["cl"].result_list] == ["acme"]


def test_nobody_can_add_change_or_delete_rejections(client, rows):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    row = IntakeRejection.objects.first()

    assert client.get("/admin/ingest/intakerejection/add/").status_code == 403
    assert client.post(f"/admin/ingest/intakerejection/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert IntakeRejection.objects.filter(pk=row.pk).exists()


def test_other_staffs_rows_are_not_found_and_non_staff_go_to_the_login(client, rows):
    client.force_login(staff_of("acme"))
    globex_row = IntakeRejection.objects.get(tenant_id="globex")

    # The admin's answer for an object outside the user's queryset: back to the index, as if missing.
    response = client.get(f"/admin/ingest/intakerejection/{globex_row.pk}/change/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")

    client.force_login(User.objects.create_user("customer", password="x"))
    assert client.get("/admin/ingest/intakerejection/").status_code == 302
