"""The layers are kept by a check, not by convention: import-linter's contracts (pyproject.toml) run in every test
run, so an import against the direction (a stage importing the CLI, the console importing a stage, the product
importing the development tools) fails CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    outcome = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False, timeout=300
    )
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert "BROKEN" not in outcome.stdout
