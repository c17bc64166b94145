"""What a first ``make deploy-ENV`` on an empty project and a later worker-mode switch
would trip on at plan and apply time, where ``terraform validate`` does not look.

Each test holds one property whose absence failed (or would fail) a real apply: names
that collide between environments sharing a project, alert filters the Monitoring API
refuses, alerts on log-based metrics it does not know yet, replacements Terraform refuses,
provider releases that recreate secrets, lock files nobody committed, plan diffs that
never go away.
"""

import json
import re

import pytest

from tests.infra import terraform_config as tf
from tests.infra.terraform_config import REPO, only

MAKEFILE = REPO / "Makefile"
GUIDE = REPO / "docs" / "deploy.md"
TERRAFORM_WORKFLOW = REPO / ".github" / "workflows" / "terraform.yml"

# Arguments that name a resource in the project (or globally), by resource kind.
PROJECT_WIDE_NAMES = {
    "google_artifact_registry_repository": "repository_id",
    "google_service_account": "account_id",
    "google_pubsub_topic": "name",
    "google_pubsub_subscription": "name",
    "google_secret_manager_secret": "secret_id",
    "google_cloud_run_v2_service": "name",
    "google_cloud_run_v2_worker_pool": "name",
    "google_cloud_run_v2_job": "name",
    "google_sql_database_instance": "name",
    "google_logging_metric": "name",
    "google_cloud_scheduler_job": "name",
    "google_firestore_database": "name",
    "google_monitoring_dashboard": None,  # display name only, inside its JSON
}


def recipe(target: str) -> list[str]:
    """The recipe lines of one Makefile target, continuation lines joined."""
    lines = MAKEFILE.read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if re.match(rf"{re.escape(target)}:(?!=)", line))
    body, current = [], ""
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        current += line.strip().removesuffix("\\") + " "
        if not line.endswith("\\"):
            body.append(current.strip())
            current = ""
    return body


def make_variable(name: str) -> str:
    text = MAKEFILE.read_text().replace("\\\n", " ")
    match = re.search(rf"^{name} [?:]?= (.*)$", text, flags=re.MULTILINE)
    assert match, f"the Makefile defines no {name}"
    return match.group(1)


def google_constraint(directory) -> str:
    for block in tf.load(directory).terraform:
        for required in block.get("required_providers", []):
            if "google" in required:
                return required["google"]["version"]
    raise AssertionError(f"{directory} does not pin the google provider")


# --- 2. every alert filter names its resource type ----------------------------------------


def alert_conditions(config):
    for name, policy in config.resources["google_monitoring_alert_policy"].items():
        for condition in policy["conditions"]:
            for kind in ("condition_threshold", "condition_absent"):
                for block in condition.get(kind, []):
                    yield name, block


def test_every_alert_filter_restricts_the_resource_type():
    """The Monitoring API refuses a condition whose filter has no resource.type
    restriction (the worker-restarts condition on the log-based metric had none)."""
    config = tf.module()
    checked = 0
    for name, condition in alert_conditions(config):
        for key in ("filter", "denominator_filter"):
            if key in condition:
                resolved = tf.resolve_locals(config, condition[key])
                assert re.search(r'resource\.type\s*=\s*\\?"', resolved), f"{name}.{key}: {resolved}"
                checked += 1
    assert checked >= len(config.resources["google_monitoring_alert_policy"])
    assert config.locals["worker_resource_type"] == (
        '${local.push_mode ? "cloud_run_revision" : "cloud_run_worker_pool"}'
    )


def test_every_dashboard_chart_restricts_the_resource_type_too():
    text = (tf.MODULE / "dashboard.json").read_text()
    filters = re.findall(r'"filter": "((?:[^"\\]|\\.)*)"', text)
    assert filters
    for chart_filter in filters:
        assert chart_filter.startswith('resource.type = \\"'), chart_filter


# --- 5. provider versions: a floor past the bad release, lock files committed ------------


@pytest.mark.parametrize("directory", [tf.MODULE, *tf.ROOTS], ids=lambda path: path.name)
def test_the_google_provider_floor_is_past_the_release_that_recreated_secret_versions(directory):
    """6.49.0 recreated every google_secret_manager_secret_version on upgrade (fixed in
    6.49.1); worker pools need 6.37; the Firestore deletion_policy is undeprecated from
    6.42. One range everywhere, so one lock file per root satisfies the module too."""
    constraint = google_constraint(directory)
    assert constraint == google_constraint(tf.MODULE)
    match = re.fullmatch(r"~> 6\.(\d+)", constraint)
    assert match, constraint
    assert int(match.group(1)) >= 50, constraint
    comment = " ".join(
        line.strip().lstrip("#").strip() for line in (tf.MODULE / "versions.tf").read_text().splitlines()
    )
    assert "google_cloud_run_v2_worker_pool (6.37)" in comment


# --- 6. the smaller ones ------------------------------------------------------------------


def test_secret_versions_are_replaced_create_before_destroy():
    """Delete-first left a window in which "latest" named no enabled version."""
    versions = tf.module().resources["google_secret_manager_secret_version"]
    assert versions
    for name, version in versions.items():
        assert only(version["lifecycle"])["create_before_destroy"] is True, name


def omitted_values(value, path=""):
    """Values the Monitoring API leaves out of a dashboard it returns: zero, empty,
    false, and enum defaults; each would be a diff on every plan."""
    if isinstance(value, dict):
        if not value:
            yield path
        if value.get("mode") == "COLOR":
            yield f"{path}.mode"
        for key, item in value.items():
            yield from omitted_values(item, f"{path}.{key}")
    elif isinstance(value, list):
        if not value:
            yield path
        for index, item in enumerate(value):
            yield from omitted_values(item, f"{path}[{index}]")
    elif value in (0, "", False):
        yield path


def test_the_dashboard_json_holds_nothing_the_api_omits():
    dashboard = json.loads((tf.MODULE / "dashboard.json").read_text())
    assert list(omitted_values(dashboard)) == []
    assert list(omitted_values({"a": {"xPos": 0, "labels": {}}, "b": {"mode": "COLOR"}})) == [
        ".a.xPos",
        ".a.labels",
        ".b.mode",
    ]


def test_terraform_destroy_abandons_the_database_user_that_owns_the_tables():
    user = tf.module().resource("google_sql_user", "django")
    assert user["deletion_policy"] == "ABANDON"
