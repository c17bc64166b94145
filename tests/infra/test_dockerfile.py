"""The container image, read statically (no Docker daemon here): multi-stage, slim,
non-root, static files built in, gunicorn by default; and its .dockerignore."""

import re
import runpy

import pytest

from tests.infra.tools import REPO

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    parsed = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_the_image_is_built_in_two_stages_on_slim_python_3_11():
    froms = [arguments for keyword, arguments in instructions() if keyword == "FROM"]
    assert len(froms) == 2
    assert all(arguments.startswith("python:3.11-slim") for arguments in froms)
    assert froms[0].endswith("AS build") and froms[1].endswith("AS runtime")


def test_requirements_are_installed_into_a_venv_in_the_build_stage_only():
    build, runtime = stages()
    build_runs = " ".join(arguments for keyword, arguments in build if keyword == "RUN")
    assert "-r /tmp/requirements.txt" in build_runs and "/opt/venv/bin/pip install" in build_runs
    runtime_runs = " ".join(arguments for keyword, arguments in runtime if keyword == "RUN")
    assert "pip install" not in runtime_runs
    assert not re.search(r"apt-get install|build-essential|gcc", runtime_runs)
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime


def test_the_runtime_runs_as_a_non_root_user():
    runtime = stages()[-1]
    users = [arguments for keyword, arguments in runtime if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert any("useradd" in arguments and f"--uid {user}" in arguments for _k, arguments in runtime)


def test_static_files_are_collected_at_build_with_a_throwaway_secret_key():
    runtime_runs = [arguments for keyword, arguments in stages()[-1] if keyword == "RUN"]
    collect = [run for run in runtime_runs if "collectstatic" in run]
    assert collect and "DJANGO_SECRET_KEY=" in collect[0] and "--noinput" in collect[0]
    # Not baked into the image's environment, where it would look like a real setting.
    assert not any(
        keyword == "ENV" and "DJANGO_SECRET_KEY" in arguments for keyword, arguments in instructions()
    )


def test_gunicorn_is_the_default_command_and_port_comes_from_the_environment():
    runtime = stages()[-1]
    commands = [arguments for keyword, arguments in runtime if keyword == "CMD"]
    assert commands == ['["gunicorn", "dataproc_site.wsgi", "--config", "gunicorn.conf.py"]']
    env = " ".join(arguments for keyword, arguments in runtime if keyword == "ENV")
    assert "PORT=8080" in env


def test_the_missing_healthcheck_is_explained():
    has_healthcheck = any(keyword == "HEALTHCHECK" for keyword, _ in instructions())
    skipped = re.search(r"checkov:skip=CKV_DOCKER_2:(.{40,})", DOCKERFILE.read_text())
    assert has_healthcheck or skipped


def test_dockerignore_keeps_local_state_secrets_and_tooling_out():
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {
        ".git",
        ".env",
        ".venv",
        ".venv-*",
        "db.sqlite3*",
        "staticfiles",
        "terraform",
        "**/__pycache__",
    } <= ignored


@pytest.fixture
def gunicorn_settings(monkeypatch, tmp_path):
    def load(**environment: str) -> dict:
        for name in ("K_SERVICE", "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_BIND", "PORT"):
            monkeypatch.delenv(name, raising=False)
        # Keep gunicorn.conf.py from creating a metrics directory of its own.
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(REPO / "gunicorn.conf.py"))

    return load


def test_gunicorn_binds_the_port_cloud_run_gives(gunicorn_settings):
    assert gunicorn_settings(PORT="9123")["bind"] == "0.0.0.0:9123"


def test_gunicorn_finishes_within_cloud_runs_ten_second_sigterm_grace(gunicorn_settings):
    assert gunicorn_settings(K_SERVICE="dataproc-dev-api")["graceful_timeout"] < 10
    assert gunicorn_settings()["graceful_timeout"] == 25
    assert gunicorn_settings(K_SERVICE="x", GUNICORN_GRACEFUL_TIMEOUT="5")["graceful_timeout"] == 5
