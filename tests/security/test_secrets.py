"""Secrets stay secret: API keys are stored hashed, and no log line carries a key, a log's
text or an Authorization header, in the API, the worker or the console.

The log checks use the real flow (ingest with a key, the worker, the read API,
the console and a replay, a wrong key, a failure whose exception quotes the
text) at DEBUG level, once in this process (every record, formatted as the
service formats it) and once as real gunicorn and ``run_worker`` processes
(their whole output).
"""

from __future__ import annotations

import json
import logging
import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from dataproc_site.logging import JsonFormatter
from processing import pipeline
from processing.tenant_redaction import scrub_log
from tenants.auth import resolve_key
from tenants.models import Tenant, TenantAPIKey
from tests.reliability.conftest import services  # noqa: F401 - the real-process fixture
from tests.reliability.services import request

STAFF_PASSWORD = "staff-password-" + uuid.uuid4().hex


def all_database_text() -> str:
    """Every value of every row of every table of the database, as one text."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows += [" ".join(map(str, row)) for row in cursor.fetchall()]
    return "\n".join(rows)


def keys_in(text: str) -> list[str]:
    return re.findall(r"\b[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}\b", text)


@pytest.mark.django_db
def test_api_keys_are_stored_only_as_hashes_however_they_are_issued(capsys):
    Tenant.objects.create(id="acme")
    root = User.objects.create_superuser("root", "root@example.com", STAFF_PASSWORD)
    admin = Client()
    admin.force_login(root)

    call_command("create_api_key", "acme", "--name", "cli")
    from_command = capsys.readouterr().out.strip().splitlines()[-1]
    action = admin.post(
        reverse("admin:tenants_tenant_changelist"),
        {"action": "issue_api_key", "_selected_action": ["acme"]},
        follow=True,
    )
    from_action = keys_in(action.content.decode())
    added = admin.post(
        reverse("admin:tenants_tenantapikey_add"), {"name": "form", "tenant": "acme"}, follow=True
    )
    from_form = keys_in(added.content.decode())

    issued = [from_command, *from_action, *from_form]
    assert len(issued) == 3 and len(set(issued)) == 3, issued
    stored = all_database_text()
    for key in issued:
        assert resolve_key(key) is not None, "the shown key does not work"
        prefix, secret = key.split(".")
        assert key not in stored and secret not in stored
        row = TenantAPIKey.objects.get(prefix=prefix)
        assert row.hashed_key != secret and len(row.hashed_key) >= 64


def secret_texts() -> dict[str, str]:
    marker = uuid.uuid4().hex[:12]
    return {
        name: f"{name} SECRET{marker}{number} card 4111 1111 1111 1111 phone 555-01{number:02d}"
        for number, name in enumerate(["json", "text", "batch-1", "batch-2", "poison"])
    }


def forbidden(key: str, wrong_key: str, texts: dict[str, str]) -> list[str]:
    """What must appear in no log line: keys, texts (by their unique markers), the password."""
    markers = [re.search(r"SECRET\w+", text).group(0) for text in texts.values()]
    return [key, key.split(".")[1], wrong_key, STAFF_PASSWORD, *markers]


def failing_scrub(redactor, text: str, attributes: dict):
    if "poison" in text:
        raise ValueError(f"cannot redact {text!r}")  # an exception that quotes the text
    return scrub_log(redactor, text, attributes)


@pytest.mark.django_db(transaction=True)
def test_no_log_record_in_this_process_carries_a_key_a_text_or_an_authorization_header(
    caplog, settings, monkeypatch
):
    settings.INGEST_AUTH = "api_key"
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"
    settings.WORKER_MAX_ATTEMPTS = 1
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(pipeline, "scrub_log", failing_scrub)
    tenant = Tenant.objects.create(id="acme")
    _, key = TenantAPIKey.objects.create_key(name="k", tenant=tenant)
    wrong_key = "AbCdEfGh." + uuid.uuid4().hex
    texts = secret_texts()
    User.objects.create_superuser("root", "root@example.com", STAFF_PASSWORD)

    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for name in ("json", "poison"):
        body = json.dumps({"tenant_id": "acme", "log_id": name, "text": texts[name]})
        assert api.post("/ingest", body, content_type="application/json").status_code == 202
    assert (
        Client(HTTP_X_API_KEY=key)
        .post(
            "/ingest", texts["text"], content_type="text/plain", HTTP_X_TENANT_ID="acme", HTTP_X_LOG_ID="text"
        )
        .status_code
        == 202
    )
    batch = "\n".join(
        json.dumps({"tenant_id": "acme", "log_id": name, "text": texts[name]})
        for name in ("batch-1", "batch-2")
    )
    assert api.post("/ingest", batch, content_type="application/x-ndjson").status_code == 202
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {wrong_key}").post(
        "/ingest",
        json.dumps({"tenant_id": "acme", "log_id": "x", "text": texts["json"]}),
        content_type="application/json",
    )
    assert refused.status_code == 401
    call_command("run_worker", "--drain", "--drain-idle-seconds", "1", "--concurrency", "4")
    assert api.get("/logs/json").status_code == 200
    assert api.get("/logs").status_code == 200
    console = Client()
    assert (
        console.post(reverse("admin:login"), {"username": "root", "password": STAFF_PASSWORD}).status_code
        == 302
    )
    assert console.get(reverse("admin:console_log_detail", args=["acme", "poison"])).status_code == 200
    monkeypatch.setattr(pipeline, "scrub_log", scrub_log)
    console.post(reverse("admin:console_replay"), {"selected": ["acme/poison"]})
    call_command("run_worker", "--drain", "--drain-idle-seconds", "1", "--concurrency", "4")

    formatter = JsonFormatter()
    lines = []
    for record in caplog.records:
        lines += [formatter.format(record), record.getMessage()]
    captured = "\n".join(lines)
    for expected in (
        "POST /ingest 202",
        "log processed",
        "log dead-lettered",
        "log replayed from the console",
    ):
        assert expected in captured, f"nothing logged about {expected!r}: the check would be empty"
    leaks = [secret for secret in forbidden(key, wrong_key, texts) if secret in captured]
    assert leaks == []
    assert "Bearer" not in captured


@pytest.mark.slow
def test_no_line_the_real_api_and_worker_write_carries_a_key_a_text_or_an_authorization_header(services):  # noqa: F811
    tenant = Tenant.objects.create(id="acme")
    _, key = TenantAPIKey.objects.create_key(name="k", tenant=tenant)
    wrong_key = "AbCdEfGh." + uuid.uuid4().hex
    texts = secret_texts()
    debug = {"INGEST_AUTH": "api_key", "LOG_LEVEL": "DEBUG", "GUNICORN_LOG_LEVEL": "debug"}
    api = services.api(**debug)
    worker = services.worker("--concurrency", "4", **debug)

    for name in ("json", "batch-1", "batch-2", "poison"):
        body = json.dumps({"tenant_id": "acme", "log_id": name, "text": texts[name]}).encode()
        status = api.post(
            "/ingest", body, {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        )[0]
        assert status == 202
    text_upload = api.post(
        "/ingest",
        texts["text"].encode(),
        {"Content-Type": "text/plain", "X-API-Key": key, "X-Tenant-ID": "acme", "X-Log-ID": "text"},
    )
    assert text_upload[0] == 202
    wrong = api.post(
        "/ingest",
        json.dumps({"tenant_id": "acme", "log_id": "x", "text": texts["json"]}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {wrong_key}"},
    )
    assert wrong[0] == 401
    from tests.reliability.checks import wait_for

    wait_for(
        lambda: (
            request("GET", api.base_url + "/logs/text", headers={"Authorization": f"Bearer {key}"})[0] == 200
            and len(worker.log_lines("log processed")) >= 5
        ),
        timeout=60,
        message="the logs to be processed",
    )
    worker.stop()
    api.stop()

    output = api.output() + worker.output()
    assert "POST /ingest 202" in output and "log processed" in output
    leaks = [secret for secret in forbidden(key, wrong_key, texts) if secret in output]
    assert leaks == []
    assert "Bearer" not in output
