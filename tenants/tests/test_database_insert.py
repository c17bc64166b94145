"""New StoredLog rows written by one prepared statement read back exactly as the ORM's own would."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from tenants.models import StoredLog
from tenants.stores.database_insert import INSERTED_FIELDS, insert_new_rows

pytestmark = pytest.mark.django_db


def row(log_id: str, **fields) -> dict:
    received = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    values = {
        "tenant_id": "acme",
        "log_id": log_id,
        "source": "json",
        "original_text": "Grüße from 555-0199 \u2603",
        "modified_data": "Grüße from [REDACTED] \u2603",
        "status": "processed",
        "attempts": 1,
        "last_error": "",
        "received_at": received,
        "processed_at": received + timedelta(seconds=2),
        "message_id": "m-1",
        "request_id": "req-1",
        "event_time": received - timedelta(days=1),
        "severity": "WARN",
        "attributes": {"service": "checkout", "nested": {"ünïcode": [1, 2.5, None, True]}},
        "findings": {"phone": 1},
        "policy_version": 3,
        "expires_at": received + timedelta(days=30),
        "original_text_expires_at": None,
    }
    values.update(fields)
    return values


def comparable(stored: StoredLog) -> dict:
    values = model_to_dict(stored)
    values.pop("id")
    values.pop("updated_at", None)
    return values


def test_every_column_reads_back_as_the_orm_writes_it():
    insert_new_rows("default", [row("raw")])
    StoredLog.objects.create(**row("orm"))

    raw, orm = StoredLog.objects.get(log_id="raw"), StoredLog.objects.get(log_id="orm")

    assert comparable(raw) == {**comparable(orm), "log_id": "raw"}
    assert raw.received_at == row("raw")["received_at"]
    assert raw.updated_at is not None


def test_every_field_but_the_key_and_updated_at_is_a_column_of_the_statement():
    assert set(INSERTED_FIELDS) == {field.name for field in StoredLog._meta.concrete_fields} - {"id"}


def test_an_existing_log_fails_the_whole_insert():
    StoredLog.objects.create(**row("taken"))

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_new_rows("default", [row("new"), row("taken")])

    assert not StoredLog.objects.filter(log_id="new").exists()
