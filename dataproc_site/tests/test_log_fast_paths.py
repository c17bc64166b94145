"""The request line's fast paths give exactly what the plain ones give.

``format_created`` stands in for ``datetime.fromtimestamp(...).isoformat()``,
``scrub`` takes whole harmless dicts at once, ``fresh_ids`` makes the ids without
``uuid4``, and the middleware makes its record without ``findCaller``: each is
held here to the code it replaced.
"""

import dataclasses
import logging
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from dataproc_site import logging as log_format
from dataproc_site.logging import REDACTED, format_created, scrub
from dataproc_site.observability import context


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
@settings(max_examples=2000)
def test_format_created_is_isoformat_of_fromtimestamp(created):
    assert format_created(created) == datetime.fromtimestamp(created, UTC).isoformat()


def test_format_created_at_whole_seconds_and_carries():
    for created in (0.0, 1.0, 1_764_000_000.0, 1_764_000_000.9999996, 1_764_000_000.0000004, 1.5e-7):
        assert format_created(created) == datetime.fromtimestamp(created, UTC).isoformat()


def reference_scrub(value, depth=0):
    """``scrub`` as it was before the fast paths: one call per item."""
    if depth > log_format._MAX_DEPTH:
        return REDACTED
    if type(value) in (str, int, float, bool, type(None)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if reference_sensitive(key) else reference_scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [reference_scrub(item, depth + 1) for item in value]
    return value


def reference_sensitive(key):
    return isinstance(key, str) and key.lower().replace("-", "_") in log_format.SENSITIVE_KEYS


keys = st.one_of(
    st.sampled_from(["text", "Authorization", "x-api-key", "route", "status", "requestUrl", "Body"]),
    st.text(max_size=8),
    st.integers(-3, 3),
)
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.dictionaries(keys, inner, max_size=5), st.lists(inner, max_size=4), st.tuples(inner, inner)
    ),
    max_leaves=40,
)


@given(values)
@settings(max_examples=1000)
def test_scrub_is_the_walk_it_replaced(value):
    assert scrub(value) == reference_scrub(value)
    assert scrub(value) == reference_scrub(value)  # again, with every key now seen before


def test_deep_plain_values_are_blanked_as_before():
    deep = "leaf"
    for _ in range(log_format._MAX_DEPTH + 2):
        deep = {"level": deep}

    assert scrub(deep) == reference_scrub(deep)
    assert scrub(deep) == reference_scrub(deep)


def test_a_harmless_dict_is_copied_not_shared():
    http_request = {"requestMethod": "POST", "status": 202}
    scrub(http_request)

    copied = scrub(http_request)

    assert copied == http_request and copied is not http_request


def test_fresh_ids_have_the_shape_of_the_ids_they_replaced():
    for _ in range(200):
        request_id, trace_id, span_id = context.fresh_ids()
        assert uuid.UUID(hex=request_id).version == 4
        assert uuid.UUID(hex=request_id).hex == request_id
        assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
        assert re.fullmatch(r"[0-9a-f]{16}", span_id)


def test_bind_and_unbind_restore_the_previous_context():
    outer = context.context_from_headers({"X-Request-ID": "outer"})
    inner = context.context_from_headers({})
    with context.bound(outer):
        token = context.bind(inner)
        assert context.current() is inner
        context.unbind(token)
        assert context.current() is outer


def test_the_request_line_names_where_it_was_written(client, caplog):
    with caplog.at_level(logging.INFO, logger="dataproc.request"):
        client.get("/no-such-page")

    (record,) = [record for record in caplog.records if record.name == "dataproc.request"]
    assert record.pathname.endswith("observability/middleware.py")
    assert record.funcName == "_log_request"
    assert record.lineno > 0
    assert record.getMessage() == "GET /no-such-page 404"
    assert record.route == "unmatched"
