"""A tenant's redaction policy in a real browser: change it, try it, re-scrub last hour's logs, see the result.

Issue 15's "done when": a staff user with the policy permission changes a tenant's
policy in the console, tries it in the tester, re-scrubs the last hour's logs, and
sees the new text and findings in the log detail. Same set-up as
``test_console_e2e`` (Debian's Chromium through Playwright, pytest-django's live
server, the database queue and store, the real worker in-process); pages are saved
in light and dark themes under ``test-artifacts/console-policy/``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User

from core.envelope import SOURCE_JSON, LogEnvelope
from processing.queues import get_queue
from tenants.models import Tenant
from tenants.stores import get_store
from tests.browser.test_console_e2e import Screens, browser, run_worker_until_drained

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console-policy"
PASSWORD = "e2e-policy-password"
LOG_ID = "badge-1"
TEXT = "Badge EMP-004211 used by jane.doe@acme.example, callback 555-0199"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

__all__ = ["browser"]  # the fixture, shared with test_console_e2e


@pytest.fixture
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def test_staff_change_a_policy_try_it_rescrub_the_last_hour_and_see_the_new_text_and_findings(
    live_server, browser, artifacts, settings, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.QUEUE_BACKEND = "database"
    settings.LOG_STORE_BACKEND = "database"
    acme = Tenant.objects.create(id="acme", name="Acme Corp")
    editor = User.objects.create_user("acme-editor", password=PASSWORD, is_staff=True)
    editor.user_permissions.add(Permission.objects.get(codename="edit_redaction_policy"))
    acme.staff.add(editor)
    get_queue().publish(LogEnvelope("acme", LOG_ID, SOURCE_JSON, TEXT))
    get_queue().publish(LogEnvelope("acme", "health-1", SOURCE_JSON, "Health check ok in 12 ms"))
    run_worker_until_drained()
    before = get_store().get("acme", LOG_ID)
    assert before.modified_data == "Badge EMP-004211 used by [REDACTED], callback [REDACTED]"
    assert (before.findings, before.policy_version) == ({"email": 1, "phone": 1}, 0)

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    screens = Screens(page, artifacts)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "acme-editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    # The tenant's logs, and from there its policy.
    page.goto(f"{live_server.url}/admin/console/tenants/acme/")
    page.locator("#redaction-links").get_by_role("link", name="policy").click()
    assert page.locator("h1").inner_text() == "Redaction policy of Acme Corp"
    assert "default policy" in page.locator("#policy-in-force").inner_text()
    screens.capture("policy-default")

    # Phone numbers typed, e-mail addresses masked, and a rule of the tenant's own: first one RE2 refuses.
    page.select_option("#id_phone_replacement", "typed")
    page.select_option("#id_email_replacement", "mask")
    page.fill("#id_rules-0-name", "employee_id")
    page.fill("#id_rules-0-pattern", r"(?<=Badge )EMP-\d{6}")
    page.select_option("#id_rules-0-replacement", "typed")
    page.fill("#id_sample", TEXT)
    page.get_by_role("button", name="Try on the sample").click()
    assert "RE2 cannot compile this pattern" in page.locator(".redaction-rules .errorlist").inner_text()
    assert page.locator("#tester-output").count() == 0
    screens.capture("policy-re2-refused")

    page.fill("#id_rules-0-pattern", r"\bEMP-\d{6}\b")
    page.get_by_role("button", name="Try on the sample").click()
    marks = page.locator("#tester-marked mark")
    assert [marks.nth(index).get_attribute("data-detector") for index in range(marks.count())] == [
        "custom:employee_id",
        "email",
        "phone",
    ]
    assert "EMP-004211" in marks.nth(0).inner_text()
    assert page.locator("#tester-output").inner_text() == (
        "Badge [EMPLOYEE_ID] used by ****.***@****.***mple, callback [PHONE]"
    )
    assert "default policy" in page.locator("#policy-in-force").inner_text()  # trying saved nothing
    screens.capture("policy-tester")

    page.get_by_role("button", name="Save as version 1").click()
    assert "Saved redaction policy version 1 of Acme Corp" in page.locator(".messagelist").inner_text()
    assert "Version 1 is in force" in page.locator("#policy-in-force").inner_text()
    assert page.locator("#policy-history tbody tr").first.inner_text().split("\t")[0].strip() == "1"
    screens.capture("policy-saved")

    # Re-scrub what came in during the last hour.
    page.get_by_role("link", name="Re-scrub stored logs…").click()
    assert page.locator("h1").inner_text() == "Re-scrub the stored logs of Acme Corp?"
    assert page.locator("#id_window_0").is_checked()  # the last hour
    screens.capture("rescrub-confirm")
    page.get_by_role("button", name="Yes, re-scrub with version 1").click()
    assert page.locator("h1").inner_text() == "Logs of Acme Corp"
    assert re.search(
        r"2 examined: 2 re-scrubbed with policy version 1", page.locator(".messagelist").inner_text()
    )
    screens.capture("rescrub-done")

    page.get_by_role("link", name=LOG_ID).click()
    assert page.locator("#redacted-text").inner_text() == (
        "Badge [EMPLOYEE_ID] used by ****.***@****.***mple, callback [PHONE]"
    )
    findings = page.locator("#findings")
    assert page.locator("#policy-version").inner_text() == "1"
    assert [item.strip() for item in findings.locator("li").all_inner_texts()] == [
        "custom:employee_id: 1",
        "email: 1",
        "phone: 1",
    ]
    assert "555-0199" not in page.content()
    screens.capture("log-detail-rescrubbed")

    page.goto(f"{live_server.url}/admin/console/tenants/acme/findings/")
    assert "custom:employee_id" in page.locator("#findings-per-detector").inner_text()
    screens.capture("findings")
    assert page.goto(f"{live_server.url}/admin/console/tenants/globex/redaction-policy/").status == 404
