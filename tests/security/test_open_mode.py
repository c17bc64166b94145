"""Open ingest cannot reach production by accident, and a deliberate open deployment stays bounded.

``INGEST_AUTH=open`` lets anyone write as any tenant and registers every tenant id it
sees. Without ``DJANGO_DEBUG`` that is a system-check error (``tenants.E001``): ``check
--deploy``, every management command and the gunicorn workers refuse to start, unless
``INGEST_ALLOW_OPEN_WITHOUT_DEBUG=1`` says it is meant. Open mode then registers new
tenants only while fewer than ``INGEST_OPEN_MAX_TENANTS`` exist.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from processing.models import QueueMessage
from tenants.models import Tenant
from tests.reliability.services import ApiServer
from tests.security.test_production_settings import manage, production_environment


def test_open_mode_without_debug_fails_check_deploy_and_every_command():
    env = production_environment(INGEST_AUTH="open")

    deploy = manage("check", "--deploy", env=env)
    migrate = manage("migrate", "--check", env=env)

    assert deploy.returncode != 0 and "tenants.E001" in deploy.stderr
    assert migrate.returncode != 0 and "tenants.E001" in migrate.stderr


@pytest.mark.slow
def test_open_mode_without_debug_stops_gunicorn_at_start(tmp_path):
    env = production_environment(
        INGEST_AUTH="open",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    api = ApiServer(env, tmp_path / "api.log")
    try:
        with pytest.raises(RuntimeError, match="gunicorn exited at start"):
            api.start(timeout=30)
        assert "tenants.E001" in api.output()
        assert api.get("/health")[0] is None, "nothing serves"
    finally:
        api.stop()


def test_with_the_explicit_flag_open_mode_starts_and_check_deploy_only_warns():
    env = production_environment(INGEST_AUTH="open", INGEST_ALLOW_OPEN_WITHOUT_DEBUG="1")

    deploy = manage("check", "--deploy", env=env)

    assert deploy.returncode == 0, deploy.stderr
    assert "tenants.W001" in deploy.stderr + deploy.stdout and "tenants.E001" not in deploy.stderr


def test_with_debug_open_mode_is_the_laptop_default():
    result = manage("check", env=production_environment(DJANGO_DEBUG="1"))

    assert result.returncode == 0, result.stderr
    assert "tenants.E001" not in result.stderr


CAP = 3


@pytest.fixture
def capped_open_mode(db, settings):
    settings.INGEST_AUTH = "open"
    settings.INGEST_ALLOW_OPEN_WITHOUT_DEBUG = True
    settings.INGEST_OPEN_MAX_TENANTS = CAP
    settings.QUEUE_BACKEND = "database"


def ingest(tenant_id: str, log_id: str = "1"):
    body = json.dumps({"tenant_id": tenant_id, "log_id": log_id, "text": "hello"})
    return Client().post("/ingest", body, content_type="application/json")


def test_past_the_cap_a_new_tenant_is_refused_and_known_ones_keep_working(capped_open_mode):
    first = [ingest(f"t{number}").status_code for number in range(CAP)]
    refused = ingest("one-too-many")
    known = [ingest(f"t{number}", log_id="2").status_code for number in range(CAP)]

    assert first == [202] * CAP and known == [202] * CAP
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert "one-too-many" in refused.json()["detail"] and f"fewer than {CAP}" in refused.json()["detail"]
    assert Tenant.objects.count() == CAP
    assert not QueueMessage.objects.filter(tenant_id="one-too-many").exists()


def test_a_tenant_an_operator_created_works_past_the_cap(capped_open_mode):
    for number in range(CAP):
        assert ingest(f"t{number}").status_code == 202
    Tenant.objects.create(id="created-by-operator")

    assert ingest("created-by-operator").status_code == 202
    assert ingest("t-new").status_code == 403
