"""The console's daily use in a real browser: find a log by a word, see its preview, download, erase a range.

Debian's Chromium driven by Playwright against the live test server, with the
database queue and store and the real worker (``run_worker --drain``), as in
``test_console_e2e``. Yesterday's and today's logs of Acme go through the worker;
staff of Acme (allowed to erase) search a word, download what they found as
NDJSON, and erase yesterday. Pages are saved under ``test-artifacts/console-lifecycle/``.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User

from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope
from processing.queues import get_queue
from tenants.models import Tenant
from tenants.stores import STATUS_PROCESSED, STATUSES, get_store
from tests.browser import test_console_e2e as e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console-lifecycle"
PASSWORD = "e2e-lifecycle-password"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

browser = e2e.browser  # the same headless Chromium fixture

TODAY = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
YESTERDAY = TODAY - timedelta(days=1)
LOGS = [
    ("yesterday-1", YESTERDAY, "Order 8812 shipped, SMS to (555) 123-4567"),
    ("yesterday-2", YESTERDAY + timedelta(minutes=1), "Disk full on web-3\nretrying in 5 s"),
    ("yesterday-3", YESTERDAY + timedelta(minutes=2), "Password reset mailed to jane.doe@acme.example"),
    ("today-1", TODAY, "Order 8813 shipped to Raj, call 555-0142"),
    ("today-2", TODAY + timedelta(minutes=1), "Health check ok in 12 ms"),
    ("today-3", TODAY + timedelta(minutes=2), "User 555-0199 accessed the system"),
]


@pytest.fixture
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def publish_logs() -> None:
    queue = get_queue()
    for number, (log_id, received_at, text) in enumerate(LOGS):
        source = SOURCE_JSON if number % 2 else SOURCE_TEXT
        queue.publish(LogEnvelope("acme", log_id, source, text, received_at=received_at.isoformat()))
    queue.publish(LogEnvelope("globex", "globex-1", SOURCE_TEXT, "Order 1 shipped for globex"))


def local_input(moment: datetime) -> str:
    """A ``datetime-local`` value: the console reads it as UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def test_staff_find_a_log_by_a_word_download_it_and_erase_yesterday(
    live_server, browser, artifacts, settings, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"
    acme = Tenant.objects.create(id="acme", name="Acme Corp")
    Tenant.objects.create(id="globex", name="Globex Corporation")
    staff = User.objects.create_user("acme-ops", password=PASSWORD, is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="delete_storedlog"))
    acme.staff.add(staff)
    publish_logs()
    e2e.run_worker_until_drained()
    assert get_store().counts("acme")[STATUS_PROCESSED] == 6

    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    screens = e2e.Screens(page, artifacts)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/console/tenants/acme/")
    page.fill("#id_username", "acme-ops")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/console/tenants/acme/$"))

    # The preview: the redacted text on one line, never the original.
    rows = page.locator("#content table tbody tr")
    assert rows.count() == 6
    previews = page.locator("td.console-preview").all_inner_texts()
    assert "Disk full on web-3 retrying in 5 s" in previews
    assert any("Order 8813 shipped to Raj, call [REDACTED]" in text for text in previews)
    assert "555-0142" not in page.content()
    screens.capture("logs-with-preview")

    # Search a word: any case, the redacted text, combined with the list.
    page.fill("#id_q", "SHIPPED")
    page.get_by_role("button", name="Filter").click()
    assert [text.split()[0] for text in rows.all_inner_texts()] == ["today-1", "yesterday-1"]
    assert "globex" not in page.content()
    screens.capture("search-shipped")

    # Download what was found.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these logs (NDJSON)").click()
    download = download_info.value
    assert re.fullmatch(r"acme-logs-\d{8}-\d{6}\.ndjson", download.suggested_filename)
    lines = [json.loads(line) for line in Path(download.path()).read_text().splitlines()]
    assert [line["log_id"] for line in lines] == ["today-1", "yesterday-1"]
    assert all("original_text" not in line and "555-0142" not in json.dumps(line) for line in lines)

    # Erase yesterday.
    page.goto(f"{live_server.url}/admin/console/tenants/acme/")
    page.get_by_role("link", name="Erase logs…").click()
    page.fill("#id_received_after", local_input(YESTERDAY - timedelta(minutes=5)))
    page.fill("#id_received_before", local_input(YESTERDAY + timedelta(hours=1)))
    screens.capture("erase-confirm")
    page.get_by_role("button", name="Yes, erase these logs").click()
    assert "Erased 3 log(s) of Acme Corp" in page.locator(".messagelist").inner_text()
    assert page.get_by_role("link", name=re.compile(r"^All \(3\)$")).count() == 1
    assert [text.split()[0] for text in rows.all_inner_texts()] == ["today-3", "today-2", "today-1"]
    screens.capture("after-erasure")

    assert get_store().counts("acme") == {**dict.fromkeys(STATUSES, 0), STATUS_PROCESSED: 3}
    assert get_store().counts("globex")[STATUS_PROCESSED] == 1
    entry = LogEntry.objects.filter(object_id="acme", change_message__startswith="Erased").get()
    assert entry.user == staff
    assert "Erased 3 log(s) received from" in entry.change_message
