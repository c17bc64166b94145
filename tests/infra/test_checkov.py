"""checkov over the Terraform, the Dockerfile and the workflows: no failed check.

A check may be skipped only inline, next to the code, with the reason written
out (``#checkov:skip=CKV_...:reason``); this suite passes no skip list of its own.
"""

import json
import subprocess

import pytest

from tests.infra.tools import REPO, require_checkov

TARGETS = {
    "terraform": ["-d", "terraform", "--framework", "terraform"],
    "dockerfile": ["-f", "Dockerfile", "--framework", "dockerfile"],
    "github_actions": ["-d", ".github/workflows", "--framework", "github_actions"],
}


@pytest.fixture(scope="module")
def checkov_reports():
    """Run the three scans side by side (the Terraform one takes ~20 s alone)."""
    checkov = require_checkov()
    running = {
        name: subprocess.Popen(
            [str(checkov), *arguments, "--skip-download", "--output", "json"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, arguments in TARGETS.items()
    }
    reports = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=600)
        assert stdout.strip(), f"checkov {name} printed nothing:\n{stderr[-2000:]}"
        parsed = json.loads(stdout)
        reports[name] = parsed if isinstance(parsed, list) else [parsed]
    return reports


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_checkov_finds_no_failed_check(checkov_reports, target):
    reports = checkov_reports[target]
    assert [report["check_type"] for report in reports] == [target]
    report = reports[0]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    failed = [
        f"{check['check_id']} {check['check_name']} at {check['file_path']}:{check['file_line_range']}"
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_every_skipped_check_says_why(checkov_reports, target):
    for check in checkov_reports[target][0]["results"].get("skipped_checks", []):
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 20, f"{check['check_id']} in {check['file_path']} is skipped without a reason"
