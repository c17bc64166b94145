"""ingest.E001: the intake never accepts a log longer than the worker can process before its deadline."""

import pytest

from ingest.apps import check_longest_log_fits_the_deadline


def errors():
    return [message.id for message in check_longest_log_fits_the_deadline()]


def test_the_defaults_pass_in_both_modes(settings):
    settings.INGEST_MAX_TEXT_CHARS = 10_000
    settings.PROCESSING_DELAY_PER_CHAR = 0.05
    for mode in ("pull", "push"):
        settings.WORKER_MODE = mode
        assert errors() == []


def test_push_mode_refuses_texts_whose_work_outlasts_the_ack_deadline(settings):
    settings.WORKER_MODE = "push"
    settings.PUBSUB_PUSH_ACK_DEADLINE_SECONDS = 600
    settings.PROCESSING_DELAY_PER_CHAR = 0.05
    settings.INGEST_MAX_TEXT_CHARS = 12_000  # 600 s of work: no time left for the rest

    [message] = check_longest_log_fits_the_deadline()

    assert message.id == "ingest.E001"
    assert "PUBSUB_PUSH_ACK_DEADLINE_SECONDS (600 s" in message.msg
    assert "at most 10800" in message.hint


def test_pull_mode_is_bounded_by_the_message_deadline(settings):
    settings.WORKER_MODE = "pull"
    settings.WORKER_MESSAGE_DEADLINE_SECONDS = 100
    settings.PROCESSING_DELAY_PER_CHAR = 0.05
    settings.INGEST_MAX_TEXT_CHARS = 1800  # 90 s of 100

    assert errors() == []
    settings.INGEST_MAX_TEXT_CHARS = 1801
    assert errors() == ["ingest.E001"]


def test_no_simulated_work_fits_any_deadline(settings):
    settings.WORKER_MODE = "push"
    settings.PUBSUB_PUSH_ACK_DEADLINE_SECONDS = 10
    settings.PROCESSING_DELAY_PER_CHAR = 0
    settings.INGEST_MAX_TEXT_CHARS = 10**9

    assert errors() == []


def test_the_check_is_registered_so_commands_and_gunicorn_refuse_to_start(settings):
    from django.core import checks

    settings.WORKER_MODE = "push"
    settings.PUBSUB_PUSH_ACK_DEADLINE_SECONDS = 10
    settings.PROCESSING_DELAY_PER_CHAR = 1.0

    assert "ingest.E001" in [message.id for message in checks.run_checks()]


@pytest.mark.parametrize(
    ("environment", "mode"), [({}, "pull"), ({"PUBSUB_PUSH_AUDIENCE": "https://w/pubsub/push"}, "push")]
)
def test_the_worker_mode_defaults_to_push_where_push_delivery_is_configured(environment, mode, monkeypatch):
    import importlib

    import dataproc_site.settings as site_settings

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WORKER_MODE", raising=False)
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    try:
        reloaded = importlib.reload(site_settings)
        assert mode == reloaded.WORKER_MODE
    finally:
        monkeypatch.undo()
        importlib.reload(site_settings)
