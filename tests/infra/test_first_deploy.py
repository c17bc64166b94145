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
import subprocess

import pytest
import yaml

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


# --- 1. names that carry the environment, and the image path from an output ------


def test_every_project_wide_name_carries_the_environment():
    """docs/deploy.md lets environments share a project: a name without the
    environment (the Artifact Registry repository was plain "dataproc") collides on the
    second environment's apply."""
    config = tf.module()
    assert config.locals["prefix"] == "dataproc-${var.environment}"
    for kind, argument in PROJECT_WIDE_NAMES.items():
        for name, body in config.resources.get(kind, {}).items():
            if argument is None:
                continue
            value = tf.resolve_locals(config, str(body[argument]))
            assert "var.environment" in value, f"{kind}.{name}.{argument} = {body[argument]}"


def test_make_deploy_pushes_to_the_repository_terraform_outputs():
    """The image path comes from the image_repository output of the environment, not a
    path written into the Makefile, and the output is derived from the repository alone,
    so the targeted first step of the deployment already writes it."""
    makefile = MAKEFILE.read_text()
    assert "docker.pkg.dev/$(GCP_PROJECT)" not in makefile
    deploy = recipe("deploy")
    handover = next(line for line in deploy if "deploy-release" in line)
    assert "output -raw image_repository" in handover
    assert 'DEPLOY_IMAGE="$$repository/dataproc:$(IMAGE_TAG)"' in handover
    output = tf.module().outputs["image_repository"]["value"]
    assert "google_artifact_registry_repository.images.repository_id" in output
    assert "var." not in output and "local." not in output
    for environment in tf.ENVIRONMENTS:
        outputs = tf.load(tf.TERRAFORM / "environments" / environment).outputs
        assert outputs["image_repository"]["value"] == "${module.dataproc.image_repository}"


def test_plan_and_apply_keep_the_image_the_api_runs_not_one_a_targeted_step_passed():
    """The early, targeted deploy steps pass an image that is not rolled out yet; the
    image output the plan and apply targets fall back on reads the running service."""
    output = tf.module().outputs["image"]["value"]
    assert output == "${google_cloud_run_v2_service.api.template[0].containers[0].image}"
    assert "output -raw image " in MAKEFILE.read_text()


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


# --- 3. log-based metrics exist (and are known) before the alerts on them --------------


def test_the_first_deploy_creates_the_log_based_metrics_before_the_full_apply():
    """An alert policy on a log-based metric created in the same apply fails with
    "Cannot find metric(s)" until Cloud Monitoring knows the metric. make deploy
    creates every such metric in its first, targeted step and waits for each one
    before the apply that creates the alerts."""
    config = tf.module()
    metrics = set(config.resources["google_logging_metric"])
    targets = make_variable("FOUNDATION_TARGETS")
    for metric in metrics:
        assert f"-target=module.dataproc.google_logging_metric.{metric}" in targets, metric

    deploy = recipe("deploy")
    first_apply = next(index for index, line in enumerate(deploy) if " apply " in line)
    assert "$(FOUNDATION_TARGETS)" in deploy[first_apply]
    handover = next(index for index, line in enumerate(deploy) if "deploy-release" in line)
    assert first_apply < handover

    release = recipe("deploy-release")
    wait = next(index for index, line in enumerate(release) if "metricDescriptors" in line)
    assert "output -raw log_metric_types" in release[wait]
    full_apply = [index for index, line in enumerate(release) if " apply " in line and "-target" not in line]
    assert full_apply and wait < full_apply[0]

    # The waited-for list names every log-based metric an alert uses.
    waited = config.locals["log_based_metric_types"]
    assert tf.module().outputs["log_metric_types"]["value"] == '${join(" ", local.log_based_metric_types)}'
    used = {
        reference
        for _name, condition in alert_conditions(config)
        for reference in re.findall(
            r"google_logging_metric\.(\w+)\.name", tf.resolve_locals(config, condition["filter"])
        )
    }
    assert used, "no alert on a log-based metric left: drop the wait step"
    listed = set(
        re.findall(r"google_logging_metric\.(\w+)\.name", tf.resolve_locals(config, json.dumps(waited)))
    )
    assert used <= listed <= metrics


def test_the_log_based_metrics_wait_for_the_logging_api():
    for name, metric in tf.module().resources["google_logging_metric"].items():
        assert metric["depends_on"] == ["${google_project_service.enabled}"], name


def test_cloud_run_services_wait_for_the_grants_their_readiness_probe_needs():
    """On an empty project the first revision must find its Pub/Sub and Firestore
    grants in place, or /ready (the startup probe) fails and the apply with it."""
    config = tf.module()
    api = config.resource("google_cloud_run_v2_service", "api")["depends_on"]
    for grant in (
        "google_pubsub_topic_iam_member.api_reads_ingest_topic",
        "google_pubsub_topic_iam_member.api_publishes_ingest",
        "google_project_iam_member.api_firestore",
    ):
        assert f"${{{grant}}}" in api, grant
    for kind in ("google_cloud_run_v2_service", "google_cloud_run_v2_worker_pool"):
        worker = config.resource(kind, "worker")["depends_on"]
        for grant in (
            "google_pubsub_subscription_iam_member.worker_subscribes",
            "google_project_iam_member.worker_firestore",
        ):
            assert f"${{{grant}}}" in worker, (kind, grant)


# --- 4. a worker-mode switch replaces only what Terraform may delete --------------------


def test_no_cloud_run_resource_carries_terraforms_deletion_protection():
    """Cloud Run's deletion_protection is enforced by Terraform only, and on by default;
    with it on, the apply of a worker_mode switch (which deletes the push service or the
    worker pool) failed in staging and prod."""
    config = tf.module()
    for kind, name, body in config.all_resources():
        if kind.startswith("google_cloud_run_v2_") and not kind.endswith(("_iam_member", "_iam_binding")):
            assert body["deletion_protection"] is False, f"{kind}.{name}"


def test_what_a_worker_mode_switch_deletes_holds_no_data():
    config = tf.module()
    switched = {
        f"{kind}.{name}"
        for kind, name, body in config.all_resources()
        if "_mode" in str(body.get("count", ""))
    }
    assert switched == {
        "google_cloud_run_v2_service.worker",
        "google_cloud_run_v2_service_iam_member.worker_push_invoker",
        "google_cloud_run_v2_worker_pool.worker",
        "google_service_account_iam_member.pubsub_agent_signs_push_tokens",
    }
    # The subscription (and the backlog in it) is updated in place, never replaced.
    assert "count" not in config.resource("google_pubsub_subscription", "worker")


def test_the_data_keeps_its_protection_and_the_variable_says_what_it_covers():
    config = tf.module()
    assert config.resource("google_sql_database_instance", "django")["deletion_protection"] == (
        "${var.deletion_protection}"
    )
    assert (
        "var.deletion_protection"
        in config.resource("google_firestore_database", "logs")["delete_protection_state"]
    )
    description = config.variables["deletion_protection"]["description"]
    assert "Terraform only" in description and "not by the API" in description
    for environment in ("staging", "prod"):
        assert (
            tf.load(tf.TERRAFORM / "environments" / environment).modules["dataproc"]["deletion_protection"]
            is True
        )


def test_the_runbook_that_suggests_a_mode_switch_points_to_a_switch_that_works():
    config = tf.module()
    runbook = only(
        config.resource("google_monitoring_alert_policy", "worker_oldest_unacked")["documentation"]
    )
    heading = re.search(r'docs/deploy\.md, \\?"([^"\\]+)\\?"', runbook["content"]).group(1)
    guide = GUIDE.read_text()
    assert f"## {heading}" in guide or f"### {heading}" in guide, heading
    section = guide.split(heading, 1)[1].split("\n## ", 1)[0]
    assert 'worker_mode = "pool"' in section
    assert "make apply" in section
    assert "Terraform only" in guide


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


def test_the_terraform_workflow_checks_every_roots_committed_lock_file():
    workflow = yaml.safe_load(TERRAFORM_WORKFLOW.read_text())
    validate = workflow["jobs"]["validate"]
    roots = validate["strategy"]["matrix"]["root"]
    assert sorted(roots) == sorted(str(root.relative_to(REPO)) for root in tf.ROOTS)
    runs = [step.get("run", "") for step in validate["steps"]]
    exists = next(index for index, run in enumerate(runs) if '! -f "$ROOT/.terraform.lock.hcl"' in run)
    init = next(index for index, run in enumerate(runs) if "init -backend=false" in run)
    assert "-lockfile=readonly" in runs[init] and "validate" in runs[init]
    complete = next(index for index, run in enumerate(runs) if run.startswith("make terraform-lock"))
    assert 'TF_ROOTS="$ROOT"' in runs[complete]
    assert 'git diff --exit-code -- "$ROOT/.terraform.lock.hcl"' in runs[complete]
    assert exists < init < complete


def test_make_terraform_lock_writes_both_platforms_for_every_root():
    assert make_variable("TF_LOCK_PLATFORMS") == "-platform=linux_amd64 -platform=darwin_arm64"
    assert make_variable("TF_ROOTS").split() == [str(root.relative_to(REPO)) for root in tf.ROOTS]
    lines = " ".join(recipe("terraform-lock"))
    assert "init -backend=false" in lines
    assert "providers lock $(TF_LOCK_PLATFORMS)" in lines


def test_lock_files_are_not_ignored_and_the_guide_says_how_to_commit_them():
    for root in tf.ROOTS:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(root / ".terraform.lock.hcl")], cwd=REPO, check=False
        )
        assert ignored.returncode == 1, f"{root}/.terraform.lock.hcl is ignored by git"
    guide = GUIDE.read_text()
    assert "make terraform-lock" in guide
    assert (
        "git add terraform/bootstrap/.terraform.lock.hcl terraform/environments/*/.terraform.lock.hcl"
        in guide
    )


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
