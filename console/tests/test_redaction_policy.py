"""The redaction policy page: who reaches it, the validated form, the tester, saving versions."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client

from console.tests.console_support import PASSWORD, ConsoleTest, console_url
from processing.redaction import DETECTORS, ON_BY_DEFAULT
from tenants.models import RedactionPolicy
from tenants.redaction_policies import current_redaction_policy, save_redaction_policy


def policy_post(
    *,
    based_on: int = 0,
    enabled: dict[str, bool] | None = None,
    replacements: dict[str, str] | None = None,
    regions: str = "US",
    allow: str = "",
    rules: list[dict[str, str]] | None = None,
    sample: str = "",
    save: bool = False,
) -> dict[str, str]:
    """What the policy page's form sends (the default policy unless told otherwise)."""
    enabled = {name: name in ON_BY_DEFAULT for name in DETECTORS} | (enabled or {})
    replacements = replacements or {}
    rules = rules or []
    data = {
        "based_on": str(based_on),
        "regions": regions,
        "allow": allow,
        "sample": sample,
        "rules-TOTAL_FORMS": str(len(rules) + 1),
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "50",
    }
    for name in DETECTORS:
        if enabled[name]:
            data[f"{name}_enabled"] = "on"
        data[f"{name}_replacement"] = replacements.get(name, "redact")
    for number, rule in enumerate([*rules, {"name": "", "pattern": "", "replacement": "redact"}]):
        for field, value in rule.items():
            data[f"rules-{number}-{field}"] = value
    data["_save" if save else "_try"] = "yes"
    return data


class PolicyTest(ConsoleTest):
    @pytest.fixture(autouse=True)
    def editors(self, console_setup):
        permission = Permission.objects.get(codename="edit_redaction_policy")
        self.acme_editor = User.objects.create_user("acme-editor", password=PASSWORD, is_staff=True)
        self.acme_editor.user_permissions.add(permission)
        self.acme.staff.add(self.acme_editor)
        # The permission without the tenant: it opens nothing.
        self.unassigned_editor = User.objects.create_user("idle-editor", password=PASSWORD, is_staff=True)
        self.unassigned_editor.user_permissions.add(permission)

    def errors_of(self, response) -> str:
        return " ".join(
            re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
        )


class TestWhoReachesThePolicyPage(PolicyTest):
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_anonymous_users_are_sent_to_the_login(self, method):
        response = getattr(self.client, method)(console_url("redaction_policy", "acme"))

        assert response.status_code == 302
        assert "/admin/login/" in response.url

    @pytest.mark.parametrize("user", ["customer", "inactive_staff"])
    def test_non_staff_and_inactive_users_get_no_page(self, user):
        self.client.force_login(getattr(self.users, user))

        response = self.client.get(console_url("redaction_policy", "acme"))

        assert response.status_code == 302

    def test_staff_without_the_permission_are_refused_on_their_own_tenant(self):
        self.client.force_login(self.users.acme_staff)

        page = self.client.get(console_url("redaction_policy", "acme"))
        save = self.client.post(console_url("redaction_policy", "acme"), policy_post(save=True))
        logs = self.client.get(console_url("tenant_logs", "acme"))

        assert (page.status_code, save.status_code) == (403, 403)
        assert not RedactionPolicy.objects.exists()
        assert console_url("redaction_policy", "acme").encode() not in logs.content

    @pytest.mark.parametrize("tenant_id", ["globex", "no-such-tenant"])
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_another_tenants_page_is_not_found_even_with_the_permission(self, tenant_id, method):
        self.client.force_login(self.acme_editor)

        response = getattr(self.client, method)(
            console_url("redaction_policy", tenant_id), policy_post(save=True) if method == "post" else None
        )

        assert response.status_code == 404
        assert not RedactionPolicy.objects.exists()

    def test_the_permission_alone_opens_no_tenant(self):
        self.client.force_login(self.unassigned_editor)

        assert self.client.get(console_url("redaction_policy", "acme")).status_code == 404

    def test_editors_reach_their_tenants_page_and_the_tenant_page_links_to_it(self):
        self.client.force_login(self.acme_editor)

        page = self.client.get(console_url("redaction_policy", "acme"))
        logs = self.client.get(console_url("tenant_logs", "acme"))

        assert page.status_code == 200
        assert b"default policy" in page.content
        assert console_url("redaction_policy", "acme").encode() in logs.content

    def test_superusers_reach_every_registered_tenants_page(self):
        self.client.force_login(self.users.superuser)

        assert self.client.get(console_url("redaction_policy", "acme")).status_code == 200
        assert self.client.get(console_url("redaction_policy", "globex")).status_code == 200
        assert self.client.get(console_url("redaction_policy", "store-only")).status_code == 404

    def test_a_save_without_the_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.acme_editor)

        response = client.post(console_url("redaction_policy", "acme"), policy_post(save=True))

        assert response.status_code == 403
        assert not RedactionPolicy.objects.exists()


class TestTheForm(PolicyTest):
    @pytest.fixture(autouse=True)
    def login(self, editors):
        self.client.force_login(self.acme_editor)

    def post(self, **fields):
        return self.client.post(console_url("redaction_policy", "acme"), policy_post(**fields))

    def test_the_form_starts_from_the_policy_in_force(self):
        save_redaction_policy(
            self.acme,
            {
                "detectors": {"ip": True, "card": {"replacement": "mask"}},
                "regions": ["US", "GB"],
                "allow": ["+1 800 555 0100"],
                "custom_rules": [{"name": "employee_id", "pattern": r"EMP-\d{6}", "replacement": "hash"}],
            },
            created_by="someone",
        )

        response = self.client.get(console_url("redaction_policy", "acme"))

        form = response.context["form"]
        assert form.initial["ip_enabled"] is True
        assert form.initial["card_replacement"] == "mask"
        assert form.initial["regions"] == "US, GB"
        assert form.initial["allow"] == "+1 800 555 0100"
        assert form.initial["based_on"] == 1
        assert response.context["rules"].initial == [
            {"name": "employee_id", "pattern": r"EMP-\d{6}", "replacement": "hash"}
        ]
        assert b"Version <strong>1</strong> is in force" in response.content

    def test_saving_stores_the_next_version_with_who_saved_it(self):
        response = self.post(
            save=True,
            enabled={"ip": True, "email": False},
            replacements={"phone": "typed"},
            regions="us, gb",
            allow="+1 800 555 0100\n\n support@acme.example \n",
            rules=[{"name": "employee_id", "pattern": r"\bEMP-\d{6}\b", "replacement": "typed"}],
        )

        assert response.status_code == 302
        saved = RedactionPolicy.objects.get()
        assert (saved.version, saved.created_by) == (1, "acme-editor")
        assert saved.spec["detectors"]["ip"] == {"enabled": True, "replacement": "redact"}
        assert saved.spec["detectors"]["email"]["enabled"] is False
        assert saved.spec["detectors"]["phone"]["replacement"] == "typed"
        assert saved.spec["regions"] == ["US", "GB"]
        assert saved.spec["allow"] == ["+1 800 555 0100", "support@acme.example"]
        assert saved.spec["custom_rules"] == [
            {"name": "employee_id", "pattern": r"\bEMP-\d{6}\b", "replacement": "typed"}
        ]
        assert "version" not in saved.spec
        assert current_redaction_policy("acme").version == 1  # this process sees it at once

    def test_each_save_is_in_the_tenants_history(self):
        self.post(save=True)

        entry = LogEntry.objects.get()
        assert (entry.user, entry.object_id, entry.action_flag) == (self.acme_editor, "acme", CHANGE)
        assert entry.change_message == "Saved redaction policy version 1."

    def test_a_pattern_re2_cannot_compile_is_refused_under_that_rule(self):
        response = self.post(
            save=True, rules=[{"name": "lookbehind", "pattern": r"(?<=id=)\d+", "replacement": "redact"}]
        )

        assert response.status_code == 200
        rule = response.context["rules"].forms[0]
        assert "RE2 cannot compile this pattern" in " ".join(rule.errors["pattern"])
        assert "look-around" in self.errors_of(response)
        assert not RedactionPolicy.objects.exists()

    def test_a_pattern_matching_empty_text_is_refused(self):
        response = self.post(
            save=True, rules=[{"name": "anything", "pattern": "a*", "replacement": "redact"}]
        )

        assert "matches empty text" in " ".join(response.context["rules"].forms[0].errors["pattern"])
        assert not RedactionPolicy.objects.exists()

    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"regions": "US, XX"}, "regions", "unknown region 'XX'"),
            ({"regions": "GB gb"}, "regions", "listed twice"),
            ({"allow": "x" * 300}, "allow", "1 to 256 characters"),
        ],
    )
    def test_the_engines_problems_are_errors_on_their_fields(self, fields, field, message):
        response = self.post(save=True, **fields)

        assert message in " ".join(response.context["form"].errors[field])
        assert not RedactionPolicy.objects.exists()

    @pytest.mark.parametrize(
        ("rule", "field", "message"),
        [
            ({"name": "Bad Name", "pattern": "x", "replacement": "redact"}, "name", "lower-case letters"),
            ({"name": "", "pattern": "EMP-1", "replacement": "redact"}, "name", "lower-case letters"),
            ({"name": "empty", "pattern": "", "replacement": "redact"}, "pattern", "non-empty"),
        ],
    )
    def test_a_rules_problems_are_errors_on_that_rule(self, rule, field, message):
        response = self.post(save=True, rules=[rule])

        assert message in " ".join(response.context["rules"].forms[0].errors[field])

    def test_two_rules_with_one_name_are_refused(self):
        rule = {"name": "dup", "pattern": "x1", "replacement": "redact"}

        response = self.post(save=True, rules=[rule, {**rule, "pattern": "x2"}])

        assert "same name" in " ".join(response.context["rules"].forms[1].errors["name"])

    def test_a_rule_marked_for_deletion_is_left_out(self):
        self.post(
            save=True,
            rules=[
                {"name": "keep", "pattern": "K-1", "replacement": "redact"},
                {"name": "drop", "pattern": "(?<=x)", "replacement": "redact", "DELETE": "on"},
            ],
        )

        assert [rule["name"] for rule in RedactionPolicy.objects.get().spec["custom_rules"]] == ["keep"]

    def test_an_edit_of_a_superseded_version_saves_nothing_and_says_so(self):
        save_redaction_policy(self.acme, {"detectors": {"ip": True}}, created_by="someone else")

        response = self.post(save=True, based_on=0)

        assert response.status_code == 200
        assert "Version 1 was saved meanwhile" in self.errors_of(response)
        assert RedactionPolicy.objects.count() == 1

    def test_no_regions_at_all_means_international_numbers_only(self):
        self.post(save=True, regions="")

        assert RedactionPolicy.objects.get().spec["regions"] == []


class TestTheTester(PolicyTest):
    @pytest.fixture(autouse=True)
    def login(self, editors):
        self.client.force_login(self.acme_editor)

    def try_it(self, sample: str, **fields):
        return self.client.post(console_url("redaction_policy", "acme"), policy_post(sample=sample, **fields))

    def test_it_marks_and_names_each_finding_and_shows_the_output_without_saving(self):
        response = self.try_it(
            "user jane@example.com called 555-0199 from 203.0.113.7",
            enabled={"ip": True},
            replacements={"email": "typed", "phone": "mask"},
        )

        assert response.status_code == 200
        result = response.context["result"]
        assert [(piece.text, piece.detector) for piece in result.pieces if piece.is_finding] == [
            ("jane@example.com", "email"),
            ("555-0199", "phone"),
            ("203.0.113.7", "ip"),
        ]
        assert result.output == "user [EMAIL] called ***-0199 from [REDACTED]"
        assert result.findings == {"email": 1, "ip": 1, "phone": 1}
        html = response.content.decode()
        assert '<mark class="redaction-finding" data-detector="email"' in html
        assert 'id="tester-output">user [EMAIL] called ***-0199 from [REDACTED]</pre>' in html
        assert not RedactionPolicy.objects.exists()

    def test_it_tries_custom_rules_and_the_allow_list_as_they_stand_in_the_form(self):
        response = self.try_it(
            "EMP-004211 rang support 1-800-555-0100 and 555-0199",
            allow="+1 800 555 0100",
            rules=[{"name": "employee_id", "pattern": r"\bEMP-\d{6}\b", "replacement": "typed"}],
        )

        assert response.context["result"].output == "[EMPLOYEE_ID] rang support 1-800-555-0100 and [REDACTED]"
        assert response.context["result"].findings == {"custom:employee_id": 1, "phone": 1}

    def test_hash_tokens_in_the_tester_are_the_tenants_own(self):
        acme = self.try_it("call 555-0199", replacements={"phone": "hash"}).context["result"].output
        self.client.force_login(self.users.superuser)
        globex = (
            self.client.post(
                console_url("redaction_policy", "globex"),
                policy_post(sample="call 555-0199", replacements={"phone": "hash"}),
            )
            .context["result"]
            .output
        )

        assert re.fullmatch(r"call \[PHONE:[0-9a-f]{16}\]", acme)
        assert acme != globex

    def test_a_line_without_findings_says_so(self):
        response = self.try_it("health check ok in 12 ms")

        assert response.context["result"].output == "health check ok in 12 ms"
        assert b"Nothing found" in response.content

    def test_an_invalid_policy_is_not_tried(self):
        response = self.try_it("x", rules=[{"name": "bad", "pattern": "(", "replacement": "redact"}])

        assert response.context["result"] is None
        assert "RE2 cannot compile" in self.errors_of(response)

    def test_trying_needs_a_sample(self):
        response = self.try_it("")

        assert "Paste a log line" in " ".join(response.context["form"].errors["sample"])

    def test_the_sample_is_escaped(self):
        response = self.try_it("<script>alert(1)</script> 555-0199")

        assert b"<script>alert(1)</script>" not in response.content
        assert b"&lt;script&gt;" in response.content


REDACTION_PAGES = ["redaction_policy", "findings", "rescrub"]


class TestAccessMatrix(PolicyTest):
    """Every redaction page of the console (GET) by every kind of user, like test_access."""

    @pytest.mark.parametrize("page", REDACTION_PAGES)
    @pytest.mark.parametrize("user", [None, "customer", "inactive_staff"])
    def test_anonymous_non_staff_and_inactive_users_get_the_login(self, page, user):
        if user:
            self.client.force_login(getattr(self.users, user))

        response = self.client.get(console_url(page, "acme"))

        assert response.status_code == 302
        assert "/admin/login/" in response.url

    @pytest.mark.parametrize(
        ("user", "tenant_id", "expected"),
        [
            ("acme_staff", "acme", {"redaction_policy": 403, "findings": 200, "rescrub": 200}),
            ("acme_staff", "globex", {"redaction_policy": 404, "findings": 404, "rescrub": 404}),
            ("acme_editor", "acme", {"redaction_policy": 200, "findings": 200, "rescrub": 200}),
            ("acme_editor", "globex", {"redaction_policy": 404, "findings": 404, "rescrub": 404}),
            ("unassigned_editor", "acme", {"redaction_policy": 404, "findings": 404, "rescrub": 404}),
            ("unassigned_staff", "acme", {"redaction_policy": 404, "findings": 404, "rescrub": 404}),
            ("superuser", "globex", {"redaction_policy": 200, "findings": 200, "rescrub": 200}),
        ],
    )
    def test_staff_reach_their_tenants_pages_as_the_rules_say(self, user, tenant_id, expected):
        person = getattr(self, user, None) or getattr(self.users, user)
        self.client.force_login(person)

        statuses = {
            page: self.client.get(console_url(page, tenant_id)).status_code for page in REDACTION_PAGES
        }

        assert statuses == expected
