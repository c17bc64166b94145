from dataclasses import dataclass

from dataproc_site.observability import context


@dataclass
class Envelope:
    tenant_id: str = "acme"
    request_id: str = ""
    trace: str = ""


def test_traceparent_gives_the_trace_id_and_sampling():
    parsed = context.parse_trace_headers({"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"})
    assert parsed == ("ab" * 16, "cd" * 8, True)


def test_cloud_trace_context_span_is_turned_into_hex():
    parsed = context.parse_trace_headers({"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"})
    assert parsed == ("105445aa7843bc8bf206b12000100000", "0000000000000001", True)


def test_traceparent_wins_over_cloud_trace_context():
    parsed = context.parse_trace_headers(
        {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-00", "X-Cloud-Trace-Context": "3" * 32 + "/4"}
    )
    assert parsed[0] == "1" * 32


def test_malformed_or_all_zero_trace_headers_are_ignored():
    for headers in (
        {"traceparent": "garbage"},
        {"traceparent": "00-" + "0" * 32 + "-" + "1" * 16 + "-01"},
        {"X-Cloud-Trace-Context": "not-a-trace"},
        {"X-Cloud-Trace-Context": "0" * 32 + "/1"},
    ):
        assert context.parse_trace_headers(headers) is None


def test_a_request_without_ids_gets_fresh_ones():
    trace = context.context_from_headers({})
    assert len(trace.request_id) == 32
    assert len(trace.trace_id) == 32
    assert len(trace.span_id) == 16


def test_a_client_request_id_is_kept_only_when_well_formed():
    assert context.context_from_headers({"X-Request-ID": "client-42"}).request_id == "client-42"
    assert context.context_from_headers({"X-Request-ID": "bad id\n{json}"}).request_id != "bad id\n{json}"
    assert context.context_from_headers({"X-Request-ID": "x" * 129}).request_id != "x" * 129


def test_the_worker_context_continues_the_trace_in_the_envelope():
    for trace in ("00-" + "ab" * 16 + "-" + "cd" * 8 + "-01", "ab" * 16 + "/99;o=1", "AB" * 16):
        worker = context.context_for_envelope(Envelope(request_id="req-9", trace=trace))
        assert worker.request_id == "req-9"
        assert worker.trace_id == "ab" * 16
        assert worker.span_id != "cd" * 8
        assert worker.tenant_id == "acme"


def test_an_envelope_without_ids_still_gets_a_context():
    worker = context.context_for_envelope(Envelope())
    assert worker.request_id
    assert len(worker.trace_id) == 32


def test_binding_restores_the_previous_context():
    outer = context.context_from_headers({"X-Request-ID": "outer"})
    with context.bound(outer):
        with context.bound_to_envelope(Envelope(request_id="inner")):
            assert context.current_request_id() == "inner"
        assert context.current_request_id() == "outer"
    assert context.current() is None


def test_the_view_can_name_the_tenant_of_the_request():
    trace = context.context_from_headers({})
    with context.bound(trace):
        context.set_tenant("acme")
    assert trace.tenant_id == "acme"
