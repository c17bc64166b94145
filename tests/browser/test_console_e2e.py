"""The staff console in a real headless browser, from login to a replayed log being processed.

Debian's Chromium (``/usr/bin/chromium``, installed by ``.ci/install-browser.sh``)
driven by Playwright against pytest-django's live server, with the real database
queue and store and the real worker (``run_worker --drain``, in-process). Every
page is saved in light and dark themes under ``test-artifacts/console/`` so a
person can look at what staff see.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import close_old_connections

from conftest import require_or_skip
from core.envelope import SOURCE_JSON, SOURCE_TEXT, LogEnvelope
from processing.queues import get_queue
from tenants.models import Tenant
from tenants.stores import STATUS_DEAD_LETTERED, STATUS_PROCESSED, get_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
PASSWORD = "e2e-console-password"
BROKEN_LOG_ID = "export-7"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        require_or_skip("REQUIRE_BROWSER", f"{CHROMIUM} not found: run .ci/install-browser.sh (apt chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("REQUIRE_BROWSER", "playwright is not installed (requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def run_worker_until_drained() -> None:
    call_command("run_worker", "--drain", "--drain-idle-seconds", "1.5", "--concurrency", "4")
    close_old_connections()


def publish_demo_logs() -> None:
    """What arrived today: ordinary logs for two tenants and one export that keeps failing."""
    queue = get_queue()
    texts = [
        "User 555-0199 accessed the system",
        "Password reset mailed to jane.doe@acme.example",
        "Order 8812 shipped, SMS to (555) 123-4567",
        "Health check ok in 12 ms",
        "Callback requested by Raj at 555-0142",
    ]
    for number, text in enumerate(texts, start=1):
        queue.publish(LogEnvelope("acme", f"acme-{number}", SOURCE_JSON if number % 2 else SOURCE_TEXT, text))
    queue.publish(LogEnvelope("globex", "globex-1", SOURCE_TEXT, "Alert: System status check for 555-1234"))
    queue.publish(
        LogEnvelope("acme", BROKEN_LOG_ID, SOURCE_JSON, "Export for 555-0100 corrupt [demo:fail=99]")
    )


class Screens:
    """Saves each page twice: the admin's light theme and its dark theme."""

    def __init__(self, page, directory: Path) -> None:
        self.page = page
        self.directory = directory
        self.count = 0

    def capture(self, name: str) -> None:
        self.count += 1
        for scheme in ("light", "dark"):
            self.page.emulate_media(color_scheme=scheme)
            self.page.screenshot(
                path=str(self.directory / f"{self.count:02d}-{name}-{scheme}.png"), full_page=True
            )
        self.page.emulate_media(color_scheme="light")


def test_staff_find_a_dead_letter_replay_it_and_see_it_processed(
    live_server, browser, artifacts, settings, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"
    settings.WORKER_MAX_ATTEMPTS = 3
    settings.PROCESSING_DEMO_FAILURES = True
    acme = Tenant.objects.create(id="acme", name="Acme Corp")
    Tenant.objects.create(id="globex", name="Globex Corporation")
    staff = User.objects.create_user("acme-staff", password=PASSWORD, is_staff=True)
    acme.staff.add(staff)
    publish_demo_logs()
    run_worker_until_drained()
    assert get_store().get("acme", BROKEN_LOG_ID).status == STATUS_DEAD_LETTERED

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    screens = Screens(page, artifacts)

    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "acme-staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    screens.capture("admin-index")

    page.get_by_role("link", name="Overview").first.click()
    assert page.locator("h1").inner_text() == "Log console"
    assert page.locator("#activity-title").text_content().startswith("Logs received and processed")
    assert "Globex" not in page.content()
    screens.capture("overview")

    page.get_by_role("link", name="Acme Corp").click()
    assert page.locator("h1").inner_text() == "Logs of Acme Corp"
    screens.capture("tenant-logs")

    page.get_by_role("link", name=re.compile(r"^Dead-lettered \(1\)$")).click()
    rows = page.locator("#content table tbody tr")
    assert rows.count() == 1
    assert BROKEN_LOG_ID in rows.first.inner_text()
    screens.capture("dead-letters-filtered")

    page.get_by_role("link", name=BROKEN_LOG_ID).click()
    assert "demo failure" in page.locator("pre.console-error").inner_text()
    assert page.locator(".console-status").inner_text() == "dead-lettered"
    assert "555-0100" not in page.content()  # no original-text permission
    screens.capture("log-detail-dead")

    page.get_by_role("button", name="Replay this log").click()
    assert f"Replayed log acme/{BROKEN_LOG_ID}" in page.locator(".messagelist").inner_text()
    assert page.locator(".console-status").inner_text() == "retrying"
    screens.capture("log-detail-replayed")

    # The cause went away (here: the demo failure is switched off); the worker takes the log again.
    settings.PROCESSING_DEMO_FAILURES = False
    run_worker_until_drained()
    page.reload()
    assert page.locator(".console-status").inner_text() == "processed"
    assert "Export for [REDACTED] corrupt" in page.locator("#redacted-text").inner_text()
    screens.capture("log-detail-processed")
    assert get_store().get("acme", BROKEN_LOG_ID).status == STATUS_PROCESSED

    response = page.goto(f"{live_server.url}/admin/console/tenants/globex/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/admin/console/tenants/globex/logs/globex-1/")
    assert response.status == 404
    page.goto(f"{live_server.url}/admin/console/dead-letters/")
    assert "No dead letters" in page.content()
    screens.capture("dead-letters-empty")
