"""A redaction policy as data: the JSON-able structure a tenant stores, its validation and its typed form.

```
{
  "version": 4,
  "detectors": {"phone": {"enabled": true, "replacement": "typed"}, "ip": true, "card": {"replacement": "mask"}},
  "regions": ["US", "GB"],
  "allow": ["+1 800 555 0100", "support@acme.example"],
  "custom_rules": [{"name": "employee_id", "pattern": "\\\\bEMP-\\\\d{6}\\\\b", "replacement": "hash"}]
}
```

Every field is optional; what is left out keeps the default (``DEFAULT_POLICY``: every
default detector on, ``[REDACTED]``, national numbers read as North American).
``validate_policy`` lists every problem in words an operator can act on;
``parse_policy`` turns valid data into a ``PolicySpec`` (frozen, hashable: the
compile cache is keyed by it) and ``PolicySpec.to_dict`` gives back the canonical form.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import phonenumbers

from processing.redaction.detectors.custom import pattern_problem, rules_problem

DETECTORS = ("phone", "email", "card", "ssn", "iban", "ip")
ON_BY_DEFAULT = frozenset({"phone", "email", "card", "ssn", "iban"})
DEFAULT_REGIONS = ("US",)

MAX_REGIONS = 20
MAX_ALLOW_ENTRIES = 500
MAX_ALLOW_ENTRY_CHARS = 256
MAX_CUSTOM_RULES = 50
MAX_PATTERN_CHARS = 1000
RULE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
TOP_LEVEL_FIELDS = ("version", "detectors", "regions", "allow", "custom_rules")


class Replacement(StrEnum):
    """What a finding becomes."""

    REDACT = "redact"  # [REDACTED]
    TYPED = "typed"  # [PHONE], [EMAIL], [EMPLOYEE_ID]
    MASK = "mask"  # every letter and digit but the last four as *: ***-***-0199
    HASH = "hash"  # [PHONE:<16 hex digits of HMAC-SHA256 with the tenant's secret>]
    REMOVE = "remove"  # nothing


REPLACEMENTS = tuple(method.value for method in Replacement)


@dataclass(frozen=True)
class DetectorSetting:
    name: str
    enabled: bool
    replacement: Replacement = Replacement.REDACT


@dataclass(frozen=True)
class CustomRule:
    """A tenant's own pattern (RE2 syntax); its findings are counted as ``custom:<name>``."""

    name: str
    pattern: str
    replacement: Replacement = Replacement.REDACT

    @property
    def finding(self) -> str:
        return f"custom:{self.name}"


@dataclass(frozen=True)
class PolicySpec:
    detectors: tuple[DetectorSetting, ...]
    regions: tuple[str, ...] = DEFAULT_REGIONS
    allow: tuple[str, ...] = ()
    custom_rules: tuple[CustomRule, ...] = ()
    version: int = 1
    _by_name: dict[str, DetectorSetting] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {setting.name: setting for setting in self.detectors})

    def detector(self, name: str) -> DetectorSetting:
        return self._by_name.get(name) or DetectorSetting(name, name in ON_BY_DEFAULT)

    def enabled(self, name: str) -> bool:
        return self.detector(name).enabled

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-able form: every detector spelled out, ``parse_policy`` reads it back."""
        return {
            "version": self.version,
            "detectors": {
                name: {
                    "enabled": self.detector(name).enabled,
                    "replacement": self.detector(name).replacement.value,
                }
                for name in DETECTORS
            },
            "regions": list(self.regions),
            "allow": list(self.allow),
            "custom_rules": [
                {"name": rule.name, "pattern": rule.pattern, "replacement": rule.replacement.value}
                for rule in self.custom_rules
            ],
        }

    @property
    def fingerprint(self) -> str:
        """A short digest of the canonical form: equal for equal policies, whatever their version number."""
        canonical = self.to_dict()
        del canonical["version"]
        encoded = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


class PolicyError(ValueError):
    """Policy data that does not validate; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid redaction policy: " + "; ".join(problems))


DEFAULT_POLICY = PolicySpec(
    detectors=tuple(DetectorSetting(name, name in ON_BY_DEFAULT) for name in DETECTORS)
)


def validate_policy(data: Any) -> list[str]:
    """Every problem with ``data`` as a redaction policy, in words; empty when it is valid."""
    if not isinstance(data, dict):
        return [f"a policy is a JSON object, not {type(data).__name__}"]
    problems = [
        f"unknown field {key!r} (known: {', '.join(TOP_LEVEL_FIELDS)})"
        for key in data
        if key not in TOP_LEVEL_FIELDS
    ]
    if "version" in data:
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            problems.append(f"version must be a whole number from 1, not {version!r}")
    problems += _detector_problems(data.get("detectors", {}))
    problems += _region_problems(data.get("regions", list(DEFAULT_REGIONS)))
    problems += _allow_problems(data.get("allow", []))
    problems += _custom_rule_problems(data.get("custom_rules", []))
    return problems


def parse_policy(data: dict[str, Any]) -> PolicySpec:
    """The typed policy for valid ``data``; ``PolicyError`` (with every problem) otherwise."""
    problems = validate_policy(data)
    if problems:
        raise PolicyError(problems)
    detectors = []
    for name in DETECTORS:
        setting = data.get("detectors", {}).get(name, {})
        if isinstance(setting, bool):
            setting = {"enabled": setting}
        detectors.append(
            DetectorSetting(
                name,
                setting.get("enabled", name in ON_BY_DEFAULT),
                Replacement(setting.get("replacement", Replacement.REDACT)),
            )
        )
    return PolicySpec(
        detectors=tuple(detectors),
        regions=tuple(region.upper() for region in data.get("regions", DEFAULT_REGIONS)),
        allow=tuple(data.get("allow", ())),
        custom_rules=tuple(
            CustomRule(
                rule["name"], rule["pattern"], Replacement(rule.get("replacement", Replacement.REDACT))
            )
            for rule in data.get("custom_rules", ())
        ),
        version=data.get("version", 1),
    )


def _detector_problems(detectors: Any) -> list[str]:
    if not isinstance(detectors, dict):
        return ["detectors must be an object of detector name to setting"]
    problems = []
    for name, setting in detectors.items():
        if name not in DETECTORS:
            problems.append(f"unknown detector {name!r} (known: {', '.join(DETECTORS)})")
            continue
        if isinstance(setting, bool):
            continue
        if not isinstance(setting, dict):
            problems.append(f"detector {name!r}: a setting is true, false or an object, not {setting!r}")
            continue
        for key in setting:
            if key not in ("enabled", "replacement"):
                problems.append(f"detector {name!r}: unknown field {key!r} (known: enabled, replacement)")
        if "enabled" in setting and not isinstance(setting["enabled"], bool):
            problems.append(f"detector {name!r}: enabled must be true or false, not {setting['enabled']!r}")
        if "replacement" in setting:
            problems += _replacement_problems(f"detector {name!r}", setting["replacement"])
    return problems


def _replacement_problems(owner: str, replacement: Any) -> list[str]:
    if replacement in REPLACEMENTS:
        return []
    return [f"{owner}: replacement must be one of {', '.join(REPLACEMENTS)}, not {replacement!r}"]


def _region_problems(regions: Any) -> list[str]:
    if not isinstance(regions, list):
        return ["regions must be a list of region codes such as US or GB"]
    if len(regions) > MAX_REGIONS:
        return [f"at most {MAX_REGIONS} regions, not {len(regions)}"]
    problems = []
    seen = set()
    for region in regions:
        if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            problems.append(f"unknown region {region!r} (two-letter codes such as US, GB, DE)")
        elif region.upper() in seen:
            problems.append(f"region {region!r} is listed twice")
        else:
            seen.add(region.upper())
    return problems


def _allow_problems(allow: Any) -> list[str]:
    if not isinstance(allow, list):
        return ["allow must be a list of values never to redact"]
    if len(allow) > MAX_ALLOW_ENTRIES:
        return [f"at most {MAX_ALLOW_ENTRIES} allowed values, not {len(allow)}"]
    return [
        f"allowed value {value!r} must be text of 1 to {MAX_ALLOW_ENTRY_CHARS} characters"
        for value in allow
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ALLOW_ENTRY_CHARS
    ]


def _custom_rule_problems(rules: Any) -> list[str]:
    if not isinstance(rules, list):
        return ["custom_rules must be a list of {name, pattern, replacement} objects"]
    if len(rules) > MAX_CUSTOM_RULES:
        return [f"at most {MAX_CUSTOM_RULES} custom rules, not {len(rules)}"]
    problems = []
    names = set()
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            problems.append(f"custom rule {number}: must be an object with name, pattern and replacement")
            continue
        name = rule.get("name")
        label = f"custom rule {name!r}" if isinstance(name, str) and name else f"custom rule {number}"
        for key in rule:
            if key not in ("name", "pattern", "replacement"):
                problems.append(f"{label}: unknown field {key!r} (known: name, pattern, replacement)")
        if not isinstance(name, str) or not RULE_NAME.fullmatch(name):
            problems.append(
                f"{label}: name must be 1-40 lower-case letters, digits or _, starting with a letter"
            )
        elif name in names:
            problems.append(f"{label}: another rule has the same name")
        else:
            names.add(name)
        pattern = rule.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            problems.append(f"{label}: pattern must be non-empty text")
        elif len(pattern) > MAX_PATTERN_CHARS:
            problems.append(f"{label}: pattern is longer than {MAX_PATTERN_CHARS} characters")
        else:
            problem = pattern_problem(pattern)
            if problem:
                problems.append(f"{label}: {problem}")
        if "replacement" in rule:
            problems += _replacement_problems(label, rule["replacement"])
    if not problems:
        problem = rules_problem([rule["pattern"] for rule in rules])
        if problem:
            problems.append(problem)
    return problems
