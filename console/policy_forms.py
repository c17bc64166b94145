"""The redaction policy page's form: a tenant's policy as fields, checked by the engine before it is saved.

``PolicyForm`` turns the fields (detectors on or off with their replacement,
regions, allow-list, and the custom rules of ``RuleFormSet``) into policy data and
runs ``processing.redaction.validate_policy`` on it; every problem the engine names
becomes an error on the field it is about (a rule RE2 refuses: under that rule's
pattern). The model stores whatever it is given; this form is where a policy is
validated (the tenants layer cannot import the engine).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone

from console.forms import UTCDateTimeField
from processing.redaction import DETECTORS, ON_BY_DEFAULT, parse_policy, validate_policy
from processing.redaction.policy import DEFAULT_REGIONS, MAX_CUSTOM_RULES, REPLACEMENTS

DETECTOR_LABELS = {
    "phone": "Phone numbers",
    "email": "E-mail addresses",
    "card": "Card numbers (Luhn)",
    "ssn": "US social security numbers",
    "iban": "IBANs (mod-97)",
    "ip": "IP addresses (v4 and v6)",
}
REPLACEMENT_LABELS = {
    "redact": "[REDACTED]",
    "typed": "typed: [PHONE], [EMAIL], [RULE_NAME]",
    "mask": "mask all but the last four",
    "hash": "keyed hash token (per tenant)",
    "remove": "remove",
}
REPLACEMENT_CHOICES = [(value, REPLACEMENT_LABELS[value]) for value in REPLACEMENTS]
MAX_SAMPLE_CHARS = 10_000


class RuleForm(forms.Form):
    name = forms.CharField(required=False, max_length=40, widget=forms.TextInput(attrs={"size": 18}))
    pattern = forms.CharField(required=False, max_length=1000, widget=forms.TextInput(attrs={"size": 50}))
    replacement = forms.ChoiceField(choices=REPLACEMENT_CHOICES, initial="redact")

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("name") and not data.get("pattern")


class BaseRuleFormSet(forms.BaseFormSet):
    def rules(self) -> list[dict[str, str]]:
        """The rules filled in, in order (blank rows and rows marked for deletion left out)."""
        rules = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE") or form.is_blank:
                continue
            rules.append(
                {
                    "name": form.cleaned_data["name"].strip(),
                    "pattern": form.cleaned_data["pattern"],
                    "replacement": form.cleaned_data["replacement"],
                }
            )
        return rules

    def form_named(self, name: str) -> forms.Form | None:
        for form in self.forms:
            if getattr(form, "cleaned_data", {}).get("name", "").strip() == name:
                return form
        return None

    def kept_forms(self) -> list[forms.Form]:
        return [
            form
            for form in self.forms
            if hasattr(form, "cleaned_data") and not form.cleaned_data.get("DELETE") and not form.is_blank
        ]


RuleFormSet = formset_factory(
    RuleForm, formset=BaseRuleFormSet, extra=1, can_delete=True, max_num=MAX_CUSTOM_RULES, validate_max=True
)


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def split_regions(text: str) -> list[str]:
    return [part.upper() for part in text.replace(",", " ").split()]


class PolicyForm(forms.Form):
    """A tenant's policy (detectors, regions, allow-list) and the tester's sample; rules come in ``rules``."""

    regions = forms.CharField(
        required=False,
        help_text="How national numbers without a country code are read: region codes such as US, GB, DE "
        "(separated by commas or spaces). Empty: international numbers only.",
    )
    allow = forms.CharField(
        label="Allow-list",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Values never redacted, one a line (your own support number, a no-reply address). "
        "Compared as the detectors read them: +1 800 555 0100 also allows (800) 555-0100.",
    )
    sample = forms.CharField(
        label="Sample log line",
        required=False,
        max_length=MAX_SAMPLE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 90}),
        help_text="Try the policy above, as it stands in this form, before saving it. Nothing is stored.",
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, rules: BaseRuleFormSet, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules
        for name in DETECTORS:
            self.fields[f"{name}_enabled"] = forms.BooleanField(
                label=DETECTOR_LABELS[name], required=False, initial=name in ON_BY_DEFAULT
            )
            self.fields[f"{name}_replacement"] = forms.ChoiceField(
                label=f"{DETECTOR_LABELS[name]}: replacement", choices=REPLACEMENT_CHOICES, initial="redact"
            )

    def detector_rows(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "enabled": self[f"{name}_enabled"], "replacement": self[f"{name}_replacement"]}
            for name in DETECTORS
        ]

    def policy_data(self) -> dict[str, Any]:
        """The policy as the engine reads it (call after ``is_valid``)."""
        data = self.cleaned_data
        return {
            "detectors": {
                name: {"enabled": data[f"{name}_enabled"], "replacement": data[f"{name}_replacement"]}
                for name in DETECTORS
            },
            "regions": split_regions(data.get("regions", "")),
            "allow": split_lines(data.get("allow", "")),
            "custom_rules": self.rules.rules(),
        }

    def is_valid(self) -> bool:
        fields_valid = super().is_valid()
        rules_valid = self.rules.is_valid()
        if not (fields_valid and rules_valid):
            return False
        data = self.policy_data()
        kept = self.rules.kept_forms()
        # The engine names a rule by its name, or by its place among the rules when it has none.
        rule_forms = {str(number): form for number, form in enumerate(kept, start=1)}
        rule_forms.update({rule["name"]: form for rule, form in zip(data["custom_rules"], kept, strict=True)})
        for problem in validate_policy(data):
            self._place(problem, rule_forms)
        return not self.errors and not any(form.errors for form in self.rules.forms)

    def canonical_spec(self) -> dict[str, Any]:
        """The validated policy in the engine's canonical form (every detector spelled out), without version."""
        spec = parse_policy(self.policy_data()).to_dict()
        del spec["version"]
        return spec

    def _place(self, problem: str, rule_forms: dict[str, forms.Form]) -> None:
        """Put one of the engine's problems on the field it is about."""
        if problem.startswith("custom rule "):
            label, _, reason = problem.partition(": ")
            form = rule_forms.get(label.removeprefix("custom rule ").strip("'\""))
            if form is not None:
                field = "pattern"
                if reason.startswith("name ") or "same name" in reason:
                    field = "name"
                elif reason.startswith("replacement") or "unknown field" in reason:
                    field = "replacement"
                form.add_error(field, reason)
                return
        if problem.startswith("detector '"):
            detector = problem.removeprefix("detector '").partition("'")[0]
            self.add_error(f"{detector}_replacement" if detector in DETECTORS else None, problem)
        elif "region" in problem:
            self.add_error("regions", problem)
        elif "allowed value" in problem or problem.startswith("allow"):
            self.add_error("allow", problem)
        elif "custom rule" in problem:
            self.rules.non_form_errors().append(problem)
        else:
            self.add_error(None, problem)


def initial_for(spec: dict[str, Any], *, version: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The form's and the rules' initial values for a stored spec (``{}``: the default policy)."""
    policy = parse_policy({key: value for key, value in spec.items() if key != "version"})
    initial: dict[str, Any] = {
        "regions": ", ".join(policy.regions),
        "allow": "\n".join(policy.allow),
        "based_on": version,
    }
    for name in DETECTORS:
        setting = policy.detector(name)
        initial[f"{name}_enabled"] = setting.enabled
        initial[f"{name}_replacement"] = setting.replacement.value
    rules = [
        {"name": rule.name, "pattern": rule.pattern, "replacement": rule.replacement.value}
        for rule in policy.custom_rules
    ]
    return initial, rules


class RescrubForm(forms.Form):
    """Which stored logs a re-scrub takes: a recent window, every log, or a received-at range (UTC)."""

    WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7), "all": None}
    window = forms.ChoiceField(
        label="Logs received",
        choices=[
            ("1h", "in the last hour"),
            ("24h", "in the last 24 hours"),
            ("7d", "in the last 7 days"),
            ("all", "at any time"),
            ("range", "between the times below (UTC)"),
        ],
        initial="1h",
        widget=forms.RadioSelect,
    )
    received_after = UTCDateTimeField(label="From (UTC)", required=False)
    received_before = UTCDateTimeField(label="Before (UTC)", required=False)
    # Where a re-scrub stopped (a request does at most so much): the store's own cursor.
    from_cursor = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def clean(self) -> dict:
        cleaned = super().clean()
        window = cleaned.get("window")
        after, before = cleaned.get("received_after"), cleaned.get("received_before")
        if window == "range":
            if not after and not before:
                raise ValidationError("Give at least one of “From” and “Before”, or choose another window.")
            if after and before and after >= before:
                raise ValidationError("“From” must be earlier than “Before”.")
        return cleaned

    def bounds(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """``(received_after, received_before)`` of the chosen logs (call after ``is_valid``)."""
        window = self.cleaned_data["window"]
        if window == "range":
            return self.cleaned_data["received_after"], self.cleaned_data["received_before"]
        span = self.WINDOWS[window]
        return ((now or timezone.now()) - span if span else None), None


__all__ = ["DEFAULT_REGIONS", "PolicyForm", "RescrubForm", "RuleFormSet", "initial_for"]
