"""Log lines: JSON in the shape Cloud Logging reads from a container's stdout, or lines for people.

``LOG_FORMAT`` picks one (default: ``console`` under ``DJANGO_DEBUG``, ``json``
otherwise). ``ConsoleFormatter`` writes what a person reads in a terminal: time,
level, logger, message, then the same fields as ``key=value``, one line per record.

Cloud Logging's agent turns each stdout line that is a JSON object into a structured
entry and lifts special fields out of it: ``severity``, ``message``, ``time``,
``httpRequest``, ``logging.googleapis.com/trace`` (``projects/<project>/traces/<id>``),
``logging.googleapis.com/spanId``, ``logging.googleapis.com/trace_sampled`` and
``logging.googleapis.com/sourceLocation``. The trace and ``request_id`` come from the
context bound for the current request or message (``dataproc_site.observability.context``),
so a request id or a trace id finds every line about one log.

Logs must never carry what clients sent in confidence: a last safety net blanks keys
that hold log text or credentials (``text``, ``original_text``, ``authorization``,
``api_key``...) wherever they appear in the extras, however deeply nested.
"""

import dataclasses
import json
import logging
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import filterfalse

import orjson
from django.core.signals import setting_changed

from dataproc_site.observability import context

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

REDACTED = "[FILTERED]"
# Compared after lower-casing and turning "-" into "_" (so header names match too).
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "original_text",
        "modified_data",
        "body",
        "authorization",
        "http_authorization",
        "proxy_authorization",
        "api_key",
        "x_api_key",
        "http_x_api_key",
        "apikey",
        "token",
        "access_token",
        "metrics_token",
        "password",
        "secret",
        "secret_key",
        "cookie",
        "http_cookie",
        "set_cookie",
    }
)
_MAX_DEPTH = 8

TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
SOURCE_KEY = "logging.googleapis.com/sourceLocation"


# Values written as they are: most extras are these, and they need no walk.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


# Keys seen so far and whether they are sensitive: extras use a few keys over and over.
# The ones that are not are also kept as a set, so a whole dict's keys are checked at once.
_sensitive_seen: dict[str, bool] = {}
_harmless_keys: set[str] = set()
_MAX_KEYS_SEEN = 4096


def _is_sensitive(key: object) -> bool:
    if not isinstance(key, str):
        return False
    known = _sensitive_seen.get(key)
    if known is None:
        known = key in SENSITIVE_KEYS or key.lower().replace("-", "_") in SENSITIVE_KEYS
        if len(_sensitive_seen) >= _MAX_KEYS_SEEN:
            _sensitive_seen.clear()  # bounded whatever keys callers invent
            _harmless_keys.clear()
        _sensitive_seen[key] = known
        if not known and type(key) is str:
            _harmless_keys.add(key)
    return known


def scrub(value: object, depth: int = 0) -> object:
    """``value`` with every sensitive key's value replaced, through mappings, sequences and dataclasses."""
    if depth > _MAX_DEPTH:
        return REDACTED
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is dict:  # the usual container, without the abstract-class checks below
        return _scrub_dict(value, depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {str(key): _scrub_item(key, item, depth) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item, depth + 1) for item in value]
    return value


def _scrub_dict(value: dict, depth: int) -> dict:
    """``scrub`` of a plain dict, with its plain values taken as they are rather than by a call each.

    Every request's line carries one (``httpRequest``), so this is the walk that runs
    most; a plain value one level down is kept unless that level is past
    ``_MAX_DEPTH``, exactly as ``scrub`` would decide.
    """
    leaves_kept = depth < _MAX_DEPTH
    if leaves_kept and _is_harmless(value):
        return value.copy()
    seen = _sensitive_seen
    scrubbed = {}
    for key, item in value.items():
        if type(key) is str:
            sensitive = seen.get(key)
            if sensitive is None:
                sensitive = _is_sensitive(key)
        else:
            sensitive = False
            key = str(key)
        if sensitive:
            scrubbed[key] = REDACTED
        elif leaves_kept and type(item) in _PLAIN_TYPES:
            scrubbed[key] = item
        else:
            scrubbed[key] = scrub(item, depth + 1)
    return scrubbed


def _is_harmless(value: dict) -> bool:
    """Whether scrubbing ``value`` would copy it unchanged: str keys seen before as harmless, plain values.

    Three passes in C over the dict instead of a Python loop over its items.
    """
    return (
        value.keys() <= _harmless_keys
        and set(map(type, value)) <= _STR_TYPE
        and set(map(type, value.values())) <= _PLAIN_TYPES
    )


_STR_TYPE = frozenset({str})


def _scrub_item(key: object, item: object, depth: int) -> object:
    return REDACTED if _is_sensitive(key) else scrub(item, depth + 1)


def trace_resource(trace_id: str) -> str:
    """``projects/<GOOGLE_CLOUD_PROJECT>/traces/<trace_id>``, the form Cloud Logging links to Cloud Trace."""
    return f"projects/{_project()}/traces/{trace_id}"


_project_cache: list[str] = []


def _project() -> str:
    """The project of trace resources: read once (every line needs it), again after a settings change."""
    if _project_cache:
        return _project_cache[0]
    project = os.environ.get("GOOGLE_CLOUD_PROJECT", "unknown")
    try:
        from django.conf import settings

        if not settings.configured:
            return project  # not cached: settings may be configured later
        project = getattr(settings, "GOOGLE_CLOUD_PROJECT", "") or "unknown"
    except Exception:  # logging must work before and without Django settings
        return project
    _project_cache[:] = [project]
    return project


def _forget_project(**kwargs) -> None:
    _project_cache.clear()


setting_changed.connect(_forget_project, dispatch_uid="dataproc_site.logging.forget_project")


# The last whole second formatted, and its text up to the seconds: a busy process writes
# many lines a second, and ``datetime`` would format the same date and time for each.
_second_text: tuple[int, str] = (0, "1970-01-01T00:00:00")


def format_created(created: float) -> str:
    """``datetime.fromtimestamp(created, UTC).isoformat()``, the date and time formatted once a second.

    The microseconds are rounded as ``fromtimestamp`` rounds them (half to even, a
    carry into the next second included), and left out when they are zero, as
    ``isoformat`` leaves them out.
    """
    global _second_text
    fraction, whole = math.modf(created)
    second = int(whole)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    elif micro < 0:
        second, micro = second - 1, micro + 1_000_000
    cached_second, text = _second_text
    if cached_second != second:
        text = datetime.fromtimestamp(second, UTC).isoformat()[:-6]
        _second_text = (second, text)  # one tuple: threads see the old pair or the new one
    if micro:
        return f"{text}.{micro:06d}+00:00"
    return f"{text}+00:00"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the Cloud Logging fields, the bound context and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": format_created(record.created),
            "logger": record.name,
            SOURCE_KEY: {"file": record.pathname, "line": str(record.lineno), "function": record.funcName},
        }
        bound = getattr(record, "_trace_context", None) or context.current()
        if bound is not None:
            entry["request_id"] = bound.request_id
            entry[TRACE_KEY] = trace_resource(bound.trace_id)
            entry[SPAN_KEY] = bound.span_id
            entry[SAMPLED_KEY] = bound.sampled
            if bound.tenant_id:
                entry["tenant_id"] = bound.tenant_id
            if bound.log_id:
                entry["log_id"] = bound.log_id
        attributes = vars(record)
        extras = {
            key: attributes[key]
            for key in filterfalse(_STANDARD_ATTRS.__contains__, attributes)
            if not key.startswith("_")
        }
        if extras:
            # The extras are the top level of the line: their own values are at depth 0.
            entry.update(_scrub_dict(extras, -1))
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack_trace"] = self.formatStack(record.stack_info)
        return encode_line(entry)


# Datetimes and dataclasses go to ``str`` as with json.dumps(default=str), not orjson's own forms.
_ORJSON_AS_JSON_DUMPS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_line(entry: dict) -> str:
    """``entry`` as one line of JSON, ASCII only (non-ASCII characters escaped, as ``json.dumps`` does).

    orjson writes the line (a request's line cost several times as much through
    ``json.dumps``: bench/README.md); what it refuses (an integer beyond 64 bits)
    or writes outside ASCII goes through ``json.dumps``, so every line reads the
    same on any stream encoding.
    """
    try:
        encoded = orjson.dumps(entry, default=str, option=_ORJSON_AS_JSON_DUMPS)
    except orjson.JSONEncodeError:
        return json.dumps(entry, default=str)
    if encoded.isascii():
        return encoded.decode("ascii")
    return json.dumps(entry, default=str)


def _stamp_context(factory):
    """Wrap a LogRecord factory so each record remembers the context it was logged in.

    Handlers that format later, on another thread or after the block ended (a
    QueueHandler, pytest's caplog), still write the right request id and trace.
    """

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record._trace_context = context.current()
        return record

    make_record.stamps_trace_context = True
    return make_record


if not getattr(logging.getLogRecordFactory(), "stamps_trace_context", False):
    logging.setLogRecordFactory(_stamp_context(logging.getLogRecordFactory()))


class ConsoleFormatter(JsonFormatter):
    """``12:00:01.234 WARNING ingest.views queue unavailable  reason='...' logs=3 request_id=...``.

    The fields are the JSON formatter's (bound context, extras, scrubbed the same
    way), minus what only Cloud Logging reads (trace resource, span, source location).
    """

    _HIDDEN = frozenset(
        {"severity", "message", "time", "logger", "httpRequest", SOURCE_KEY, TRACE_KEY, SPAN_KEY, SAMPLED_KEY}
    )

    def format(self, record: logging.LogRecord) -> str:
        entry = json.loads(super().format(record))
        stack_trace = entry.pop("stack_trace", None)
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        fields = " ".join(
            f"{key}={_console_value(value)}" for key, value in entry.items() if key not in self._HIDDEN
        )
        line = f"{moment} {record.levelname:<7} {record.name}  {record.getMessage()}"
        if fields:
            line = f"{line}  {fields}"
        if stack_trace:
            line = f"{line}\n{stack_trace}"
        return line


def _console_value(value: object) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and "=" not in value else repr(value)
    return json.dumps(value, default=str, separators=(",", ":"))
