import json
import logging
from dataclasses import dataclass

from dataproc_site.logging import REDACTED, SPAN_KEY, TRACE_KEY, JsonFormatter
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
