"""syslog-ng's http() destination, configured by tests/shippers/syslog_ng.py, sends what POST /ingest takes.

A capture server on 127.0.0.1 stands in for dataproc and parses each request with the
intake's own format layer (ingest.formats.batch), so these tests prove the helper and
the body template; the service tests point the same helper at a running dataproc.
"""

import subprocess

import pytest

from conftest import require_or_skip
from ingest.formats.batch import MEDIA_JSON, MEDIA_NDJSON, parse_batch
from ingest.formats.limits import IntakeLimits
from tests.shippers import syslog_ng
from tests.shippers.capture import CaptureServer, accept

pytestmark = pytest.mark.slow

LIMITS = IntakeLimits()


@pytest.fixture(autouse=True)
def needs_syslog_ng():
    reason = syslog_ng.missing_reason()
    if reason:
        require_or_skip("REQUIRE_SYSLOG_NG", reason)


def records_of(requests):
    """Every record of every captured request, parsed as POST /ingest would."""
    records = []
    for request in requests:
        media_type = request.header("Content-Type")
        batch = parse_batch(media_type, request.body, LIMITS)
        assert batch.errors == (), batch.errors
        assert not batch.single
        records.extend(batch.records)
    return records


def wait_for_records(server, count, timeout=30.0):
    server.wait_for(lambda requests: len(records_of(requests)) >= count, timeout=timeout)
    return records_of(server.requests)


@pytest.mark.parametrize("body_format", [syslog_ng.NDJSON, syslog_ng.JSON_ARRAY])
@pytest.mark.parametrize("auth", [syslog_ng.X_API_KEY, syslog_ng.BEARER])
def test_the_rendered_configuration_is_valid_syslog_ng(tmp_path, body_format, auth):
    destination = syslog_ng.HttpDestination(
        url="http://127.0.0.1:8000/ingest", api_key="k3y", auth=auth, body_format=body_format
    )
    config = tmp_path / "syslog-ng.conf"
    config.write_text(syslog_ng.render_config(destination, port=5514, internal_log=tmp_path / "internal.log"))

    checked = subprocess.run(
        [syslog_ng.binary(), "--syntax-only", f"--cfgfile={config}"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert checked.returncode == 0, checked.stderr


def test_it_ships_a_few_hundred_lines_as_ndjson_with_the_api_key(tmp_path):
    messages = [f"User 555-01{number:02d} logged in (line {number})" for number in range(300)]
    with CaptureServer() as server:
        destination = syslog_ng.HttpDestination(url=server.url("/ingest"), api_key="k3y", batch_lines=50)
        with syslog_ng.SyslogNg(destination, workdir=tmp_path) as shipper:
            shipper.send(messages, host="web-1", program="billing", priority=11)  # user.err
            records = wait_for_records(server, len(messages))

    assert [record.text for record in records] == messages
    assert 6 <= len(server.requests) <= 30  # batched, not one request per line
    for request in server.requests:
        assert request.path == "/ingest"
        assert request.header("Content-Type") == MEDIA_NDJSON
        assert request.header("X-API-Key") == "k3y"
    for record in records:
        assert (record.tenant_id, record.log_id) == (None, None)  # the key names the tenant
        assert record.severity == "err"
        assert record.event_time.endswith("+00:00")
        assert record.attributes == {"host": "web-1", "program": "billing", "facility": "user"}


def test_it_ships_json_arrays_with_a_bearer_key(tmp_path):
    messages = [f"Alert: status check {number} for 555-1234" for number in range(120)]
    with CaptureServer() as server:
        destination = syslog_ng.HttpDestination(
            url=server.url("/ingest"),
            api_key="k3y",
            auth=syslog_ng.BEARER,
            body_format=syslog_ng.JSON_ARRAY,
            batch_lines=40,
        )
        with syslog_ng.SyslogNg(destination, workdir=tmp_path) as shipper:
            shipper.send(messages)
            records = wait_for_records(server, len(messages))

    assert [record.text for record in records] == messages
    for request in server.requests:
        assert request.header("Content-Type") == MEDIA_JSON
        assert request.header("Authorization") == "Bearer k3y"
        assert request.body.startswith(b"[{") and request.body.endswith(b"}]")


def test_it_resends_a_batch_answered_503_and_drops_one_answered_413(tmp_path):
    answers = iter([503, 202, 413])

    def answer(request):
        status = next(answers, 202)
        if status == 202:
            return accept(request)
        return status, {"Content-Type": "application/json", "Retry-After": "1"}, b'{"error":"x","detail":"x"}'

    with CaptureServer(answer) as server:
        destination = syslog_ng.HttpDestination(
            url=server.url("/ingest"), api_key="k3y", batch_timeout_ms=200
        )
        with syslog_ng.SyslogNg(destination, workdir=tmp_path) as shipper:
            shipper.send(["first"])
            server.wait_for(lambda requests: len(requests) >= 2)  # 503, then the same batch again
            shipper.send(["refused for good"])
            server.wait_for(lambda requests: len(requests) >= 3)  # 413: dropped
            shipper.send(["after the drop"])
            server.wait_for(lambda requests: len(requests) >= 4)

    bodies = [records_of([request])[0].text for request in server.requests]
    assert bodies == ["first", "first", "refused for good", "after the drop"]
