"""Production is the default: the settings as they load with nothing but the required secrets set.

Each check runs ``manage.py`` (or the API under gunicorn) in a fresh process with
an environment built from scratch, so what the test suite's own settings
(``dataproc_site.test_settings``) change cannot hide a bad default.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import urllib.parse

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User

from tests.reliability.services import INHERITED, PYTHON, ROOT, ApiServer, database_url, request

# Where a deployment could switch DEBUG on; `make run` (the Makefile's LOCAL_ENV) may.
DEPLOYMENT_FILES = ["Dockerfile", "gunicorn.conf.py", "Procfile.dev", "terraform", ".github/workflows"]


def production_environment(**overrides: str) -> dict[str, str]:
    """What an operator must set, and nothing else: a long random secret key and the host."""
    import os

    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "dataproc_site.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "api.example.com",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(overrides)
    return env


def manage(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def loaded_settings(env: dict[str, str]) -> dict:
    names = [
        "DEBUG",
        "ALLOWED_HOSTS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "INGEST_AUTH",
        "PROCESSING_DEMO_FAILURES",
        "METRICS_ALLOWED_NETWORKS",
        "METRICS_TOKEN",
    ]
    script = f"import json; from django.conf import settings; print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    result = manage("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_debug_every_security_default_is_on():
    loaded = loaded_settings(production_environment())

    assert loaded["DEBUG"] is False
    assert loaded["ALLOWED_HOSTS"] == ["api.example.com"]
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is True and loaded["SESSION_COOKIE_HTTPONLY"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_HSTS_SECONDS"] >= 31_536_000 and loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_CONTENT_TYPE_NOSNIFF"] is True and loaded["X_FRAME_OPTIONS"] == "DENY"
    # Tenants need keys, demo failures are off, nobody scrapes metrics unless allowed.
    assert loaded["INGEST_AUTH"] == "api_key"
    assert loaded["PROCESSING_DEMO_FAILURES"] is False
    assert loaded["METRICS_ALLOWED_NETWORKS"] == [] and loaded["METRICS_TOKEN"] == ""


def test_without_a_secret_key_production_refuses_to_start():
    env = production_environment()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_debug_stays_off_unless_switched_on(value):
    assert loaded_settings(production_environment(DJANGO_DEBUG=value))["DEBUG"] is False


def test_no_deployment_file_switches_debug_on():
    switched_on = re.compile(r"DJANGO_DEBUG\W{0,6}(1|true|yes|on)\b", re.IGNORECASE)
    offenders = []
    for entry in DEPLOYMENT_FILES:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if switched_on.search(file.read_text(errors="replace")):
                offenders.append(str(file.relative_to(ROOT)))
    assert offenders == []
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCAL_ENV := DJANGO_DEBUG=1" in makefile  # make run, on a laptop, is the exception


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_served_api_redirects_to_https_and_sends_hsts_and_secure_cookies(tmp_path):
    password = secrets.token_urlsafe(16)
    # Hashed as production hashes (the test settings use a fast hasher production lacks).
    User.objects.create(
        username="admin",
        is_staff=True,
        is_superuser=True,
        password=PBKDF2PasswordHasher().encode(password, PBKDF2PasswordHasher().salt()),
    )
    env = production_environment(
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="tests.security.static_root_settings",
        TEST_STATIC_ROOT=str(tmp_path / "static"),
    )
    collected = manage("collectstatic", "--noinput", "-v0", env=env)
    assert collected.returncode == 0, collected.stderr
    api = ApiServer(env, tmp_path / "api.log")
    try:
        api.start()
        plain = api.get("/admin/login/")
        health = api.get("/health")
        https = {"X-Forwarded-Proto": "https"}
        status, headers, body = request("GET", api.base_url + "/admin/login/", headers=https)

        assert plain[0] == 301 and plain[1]["Location"].startswith("https://127.0.0.1")
        assert health[0] == 200, "probes answer over plain HTTP"
        assert status == 200
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        csrf_cookie = dict(_cookies(headers))["csrftoken"]
        assert "Secure" in csrf_cookie

        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        cookie = csrf_cookie.split(";", 1)[0]
        form = urllib.parse.urlencode(
            {"username": "admin", "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"}
        ).encode()
        status, headers, _ = request(
            "POST",
            api.base_url + "/admin/login/?next=/admin/",
            body=form,
            headers={
                **https,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"https://127.0.0.1:{api.port}/admin/login/",
            },
        )
        assert status == 302, api.log_tail()
        session_cookie = dict(_cookies(headers))["sessionid"]
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    finally:
        api.stop()


def _cookies(headers) -> list[tuple[str, str]]:
    """(name, whole Set-Cookie value) for every cookie the response sets."""
    return [(value.split("=", 1)[0].strip(), value) for value in headers.get_all("Set-Cookie") or []]
