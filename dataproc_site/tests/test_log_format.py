import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from dataproc_site.logging import REDACTED, SPAN_KEY, TRACE_KEY, ConsoleFormatter, JsonFormatter
from dataproc_site.observability import context


@dataclass
class FakeEnvelope:
    tenant_id: str
    log_id: str
    text: str


def test_each_line_has_the_cloud_logging_fields(log_lines, settings):
    settings.GOOGLE_CLOUD_PROJECT = "demo-project"
    trace = context.TraceContext(request_id="req-1", trace_id="a" * 32, span_id="b" * 16, sampled=True)
    with context.bound(trace):
        logging.getLogger("dataproc.test").warning("disk %s", "full")

    (line,) = log_lines()
    assert line["severity"] == "WARNING"
    assert line["message"] == "disk full"
    assert line["request_id"] == "req-1"
    assert line[TRACE_KEY] == f"projects/demo-project/traces/{'a' * 32}"
    assert line[SPAN_KEY] == "b" * 16
    assert line["logging.googleapis.com/trace_sampled"] is True
    assert (
        line["logging.googleapis.com/sourceLocation"]["function"]
        == "test_each_line_has_the_cloud_logging_fields"
    )
    assert line["time"].endswith("+00:00")


def test_a_line_outside_any_request_has_no_trace(log_lines):
    logging.getLogger("dataproc.test").info("starting")

    (line,) = log_lines()
    assert line["message"] == "starting"
    assert TRACE_KEY not in line
    assert "request_id" not in line


def test_extras_holding_text_or_credentials_are_blanked_at_any_depth(log_lines):
    logging.getLogger("dataproc.test").info(
        "upload",
        extra={
            "text": "User 555-0199 accessed the system",
            "Authorization": "Bearer sk-live-secret",
            "headers": {"X-API-Key": "abc.def", "Content-Type": "text/plain"},
            "batch": [{"original_text": "secret text", "log_id": "7"}],
            "envelope": FakeEnvelope(tenant_id="acme", log_id="123", text="User 555-0199"),
        },
    )

    (line,) = log_lines()
    raw = json.dumps(line)
    for secret in ("555-0199", "sk-live-secret", "abc.def", "secret text"):
        assert secret not in raw
    assert line["text"] == REDACTED
    assert line["Authorization"] == REDACTED
    assert line["headers"] == {"X-API-Key": REDACTED, "Content-Type": "text/plain"}
    assert line["batch"] == [{"original_text": REDACTED, "log_id": "7"}]
    assert line["envelope"] == {"tenant_id": "acme", "log_id": "123", "text": REDACTED}


def test_a_record_keeps_the_context_it_was_logged_in(caplog):
    """caplog formats after the block: the record must remember its request."""
    trace = context.TraceContext(request_id="req-late", trace_id="c" * 32, span_id="d" * 16)
    with caplog.at_level(logging.INFO), context.bound(trace):
        logging.getLogger("dataproc.test").info("inside")

    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["request_id"] == "req-late"
    assert line[TRACE_KEY].endswith("/traces/" + "c" * 32)


def test_an_exception_is_logged_with_its_stack_trace(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("dataproc.test").exception("failed")

    (line,) = log_lines()
    assert line["severity"] == "ERROR"
    assert "ValueError: boom" in line["stack_trace"]


def console_line(logger_name: str, message: str, *args, **extra) -> str:
    record = logging.getLogger(logger_name).makeRecord(
        logger_name, logging.WARNING, __file__, 1, message, args, None, extra=extra
    )
    return ConsoleFormatter().format(record)


def test_the_console_format_is_one_readable_line_with_key_value_fields():
    trace = context.TraceContext(request_id="req-9", trace_id="a" * 32, span_id="b" * 16, tenant_id="acme")
    with context.bound(trace):
        line = console_line(
            "ingest.views", "queue %s; upload refused", "unavailable", logs=3, reason="broker down"
        )

    assert "\n" not in line
    time_part, level, logger_name, rest = line.split(None, 3)
    assert len(time_part) == len("12:00:01.234")
    assert (level, logger_name) == ("WARNING", "ingest.views")
    assert rest.startswith("queue unavailable; upload refused  ")
    assert "request_id=req-9" in rest and "tenant_id=acme" in rest
    assert "logs=3" in rest and "reason='broker down'" in rest
    assert "googleapis" not in rest  # Cloud Logging's fields are for the JSON format only


def test_the_console_format_scrubs_what_the_json_format_scrubs():
    line = console_line("dataproc.test", "received", text="User 555-0199", api_key="k.secret")

    assert "555-0199" not in line and "k.secret" not in line
    assert f"text={REDACTED}" in line


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"DJANGO_DEBUG": "1"}, "ConsoleFormatter"),
        ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50}, "JsonFormatter"),
        ({"DJANGO_DEBUG": "1", "LOG_FORMAT": "json"}, "JsonFormatter"),
        ({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50, "LOG_FORMAT": "console"}, "ConsoleFormatter"),
    ],
)
def test_debug_chooses_readable_lines_and_log_format_overrides(environment, expected):
    code = (
        "from django.conf import settings; import django; django.setup(); "
        "print(settings.LOGGING['formatters'][settings.LOG_FORMAT]['()'])"
    )
    inherited = {name: value for name, value in os.environ.items() if name != "LOG_FORMAT"}
    env = {**inherited, "DJANGO_SETTINGS_MODULE": "dataproc_site.settings", **environment}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    assert result.stdout.strip().endswith(expected)


def test_an_unknown_log_format_fails_at_start_up():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dataproc_site.settings",
        "DJANGO_DEBUG": "1",
        "LOG_FORMAT": "xml",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "LOG_FORMAT must be 'json' or 'console'" in result.stderr


def test_the_trace_project_follows_a_settings_change(log_lines, settings):
    """The project is read once, not on every line: a changed setting must still be seen."""
    settings.GOOGLE_CLOUD_PROJECT = "first-project"
    trace = context.TraceContext(request_id="req-2", trace_id="e" * 32, span_id="f" * 16)
    with context.bound(trace):
        logging.getLogger("dataproc.test").info("one")
        settings.GOOGLE_CLOUD_PROJECT = "second-project"
        logging.getLogger("dataproc.test").info("two")

    first, second = log_lines()
    assert first[TRACE_KEY].startswith("projects/first-project/")
    assert second[TRACE_KEY].startswith("projects/second-project/")


def test_extras_of_every_container_kind_are_scrubbed(log_lines):
    from collections import OrderedDict

    logging.getLogger("dataproc.test").info(
        "kinds",
        extra={
            "ordered": OrderedDict(token="t-secret", kept=1),
            "pairs": (("a", {"password": "p-secret"}),),
            "numbers": {1: "one", "x-api-key": "k-secret"},
        },
    )

    (line,) = log_lines()
    assert line["ordered"] == {"token": REDACTED, "kept": 1}
    assert line["pairs"] == [["a", {"password": REDACTED}]]
    assert line["numbers"] == {"1": "one", "x-api-key": REDACTED}


@pytest.mark.parametrize(
    "value",
    [
        {"when": __import__("datetime").datetime(2026, 1, 2, 3, 4, 5)},
        {"big": 2**70, "ratio": 0.1, "flag": True, "none": None},
        {"name": "Zoë → ☃"},
        {"id": __import__("uuid").UUID(int=7), "dates": [__import__("datetime").date(2026, 1, 2)]},
    ],
)
def test_a_line_reads_as_json_dumps_would_write_it(value):
    from dataproc_site.logging import encode_line

    line = encode_line(value)

    assert line.isascii()
    assert json.loads(line) == json.loads(json.dumps(value, default=str))
