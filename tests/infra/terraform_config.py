"""Read the Terraform configuration the way the tests need it, without providers.

``terraform validate`` needs the providers, which cannot be downloaded here, so
the tests parse the HCL with python-hcl2 and check the properties that matter
(who may invoke what, which env each workload gets, which indexes exist) on the
parsed blocks. Expressions stay strings such as ``"${var.max_delivery_attempts}"``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULE = TERRAFORM / "modules" / "dataproc"
ENVIRONMENTS = ("dev", "staging", "prod")
ROOTS = [TERRAFORM / "environments" / name for name in ENVIRONMENTS] + [TERRAFORM / "bootstrap"]

_OPTIONS = hcl2.SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


@dataclass
class Config:
    """The blocks of every ``.tf`` file of one directory, merged."""

    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        return self.resources[kind][name]

    def all_resources(self):
        for kind, by_name in self.resources.items():
            for name, body in by_name.items():
                yield kind, name, body


@cache
def load(directory: Path) -> Config:
    config = Config()
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=_OPTIONS)
        for block in parsed.get("resource", []):
            for kind, by_name in block.items():
                config.resources.setdefault(kind, {}).update(by_name)
        for block in parsed.get("locals", []):
            config.locals.update(block)
        for block in parsed.get("variable", []):
            config.variables.update(block)
        for block in parsed.get("output", []):
            config.outputs.update(block)
        for block in parsed.get("module", []):
            config.modules.update(block)
        config.terraform.extend(parsed.get("terraform", []))
    return config


def module() -> Config:
    return load(MODULE)


def only(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The single nested block HCL allows (python-hcl2 returns every block as a list)."""
    assert len(blocks) == 1, blocks
    return blocks[0]


_LOCAL_REF = re.compile(r"local\.([A-Za-z0-9_]+)")


def local_map_keys(config: Config, expression: str) -> set[str]:
    """Keys of the map a ``${local.x}`` or ``${merge(local.a, local.b)}`` expression names."""
    keys: set[str] = set()
    names = _LOCAL_REF.findall(expression)
    assert names, f"not a reference to locals: {expression}"
    for name in names:
        value = config.locals[name]
        if isinstance(value, dict):
            keys.update(value)
        else:
            keys.update(local_map_keys(config, value))
    return keys


def container_env_names(config: Config, container: dict[str, Any]) -> set[str]:
    """Every environment variable name a Cloud Run container block sets."""
    names = {entry["name"] for entry in container.get("env", [])}
    for dynamic in container.get("dynamic", []):
        for label, body in dynamic.items():
            if label == "env":
                names |= local_map_keys(config, body["for_each"])
    return names


def cloud_run_containers(config: Config) -> dict[str, dict[str, Any]]:
    """The container of each Cloud Run service, worker pool and job, by resource address."""
    containers = {}
    for kind in ("google_cloud_run_v2_service", "google_cloud_run_v2_worker_pool"):
        for name, body in config.resources.get(kind, {}).items():
            containers[f"{kind}.{name}"] = only(only(body["template"])["containers"])
    for name, body in config.resources.get("google_cloud_run_v2_job", {}).items():
        task = only(only(body["template"])["template"])
        containers[f"google_cloud_run_v2_job.{name}"] = only(task["containers"])
    return containers


def walk_strings(value: Any):
    """Every string anywhere in a parsed block (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item)


def resolve_locals(config: Config, text: str, depth: int = 5) -> str:
    """``text`` with every ``local.x`` reference replaced by that local's value, recursively.

    Good enough to read what an expression will contain (a filter built from
    locals), not to evaluate it."""
    for _ in range(depth):
        replaced = _LOCAL_REF.sub(
            lambda match: _as_text(config.locals.get(match.group(1), match.group(0))), text
        )
        if replaced == text:
            break
        text = replaced
    return text


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
