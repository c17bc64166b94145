"""The layers of docs/architecture.md hold, and lint-imports would catch an import against them.

``make lint`` runs lint-imports on the tree; these tests run it too, and once on a
copy with one upward import slipped in (inside a function, where it is easiest to
miss), to prove the contracts in pyproject.toml actually bite.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "dataproc_site", "tenants", "processing", "ingest", "logs_api", "probes", "console"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def scratch_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward_import", "contract"),
    [
        ("tenants/models.py", "from processing.queues import get_queue", "Top-level packages form layers"),
        ("core/records.py", "from tenants.stores import get_store", "Top-level packages form layers"),
        ("dataproc_site/observability/metrics.py", "import tenants.models", "Top-level packages form layers"),
        ("processing/queues/base.py", "from processing.worker import decide", "Inside processing"),
    ],
)
def test_an_upward_import_even_inside_a_function_breaks_the_lint(
    scratch_tree, module, upward_import, contract
):
    path = scratch_tree / module
    path.write_text(path.read_text() + f"\n\ndef _scratch():\n    {upward_import}\n")

    result = lint_imports(scratch_tree)

    assert result.returncode == 1
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
