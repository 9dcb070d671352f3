"""The fault catalogue (docs/faults.md, issue 15): every bad-input and fault case we know, each with the test that
shows it ends in a clear error or a quarantine with its reason, nothing lost, and recovery by a plain rerun. This
file checks that the catalogue names real tests, and holds the cases that need the whole CLI."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.configs import query
from support.strangers import write_project

from customer360.core.config import load_config
from customer360.core.errors import EXIT_BLOCKED, EXIT_USAGE

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "docs/faults.md"
C360 = str(Path(sys.executable).with_name("c360"))


def catalogued_tests() -> list[tuple[str, str]]:
    return re.findall(r"`(tests/test_\w+\.py)::(test_\w+)`", CATALOGUE.read_text(encoding="utf-8"))


def test_every_case_in_the_catalogue_names_a_test_that_exists() -> None:
    named = catalogued_tests()
    assert len(named) >= 40
    missing = []
    for file, name in named:
        tree = ast.parse((REPO / file).read_text(encoding="utf-8"))
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        if name not in functions:
            missing.append(f"{file}::{name}")
    assert missing == []


def c360(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("C360_")}
    return subprocess.run(
        [C360, *args], capture_output=True, text=True, timeout=900, env={**environment, "COLUMNS": "300"}
    )


@pytest.mark.integration
def test_a_table_read_with_a_wrong_configuration_is_not_stuck_after_the_fix(tmp_path: Path) -> None:
    """The case as reported: a JSON file source configured without `records_field` loaded one useless row, and
    after the configuration was fixed the file was never read again (same SHA-256) until rows were deleted by
    hand. Now the gate rejects the batch with the reason (exit 4), and after the fix `c360 ingest --reload` reads
    the file again; the next plain run resolves and publishes the cases."""
    config_file = write_project(tmp_path / "project", "three_silos", people=60)
    fixed = config_file.read_text(encoding="utf-8")
    assert "        records_field: data.cases\n" in fixed
    config_file.write_text(fixed.replace("        records_field: data.cases\n", "", 1), encoding="utf-8")

    broken = c360("run", "--config", str(config_file))

    assert broken.returncode == EXIT_BLOCKED, broken.stdout + broken.stderr
    assert "case_no_not_delivered" in broken.stdout + broken.stderr
    assert "c360 ingest --reload <source.table>" in broken.stdout + broken.stderr
    assert "Traceback" not in broken.stderr

    config_file.write_text(fixed, encoding="utf-8")
    unknown = c360("ingest", "--config", str(config_file), "--reload", "service.tickets")
    assert unknown.returncode == EXIT_USAGE and "no table named service.tickets" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    reloaded = c360("ingest", "--config", str(config_file), "--reload", "service.cases")
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    fine = c360("run", "--config", str(config_file))

    assert fine.returncode == 0, fine.stdout + fine.stderr
    config = load_config(config_file)
    export = tmp_path / "project/silos/supportdesk/export.json"
    cases = len(json.loads(export.read_text(encoding="utf-8"))["data"]["cases"])
    assert query(
        config, "select status, rows_loaded from meta.batches where table_name = 'cases' order by loaded_at"
    ) == [
        ("superseded", 1),
        ("loaded", cases),
    ]
    assert query(config, "select count(*) from marts.fct_tickets")[0][0] > 0


def test_a_configuration_copied_away_from_its_model_spec_fails_first_naming_the_key(tmp_path: Path) -> None:
    """A config copied to another folder failed at resolve after 36 s ("model spec not found"); now loading the
    configuration names the key, before anything is read."""
    config_file = write_project(tmp_path / "project", "three_silos", people=20)
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text.replace("data_dir: data\n", "data_dir: data\nresolution:\n  spec: my-spec.yml\n", 1))

    outcome = c360("run", "--config", str(config_file))

    assert outcome.returncode == EXIT_USAGE, outcome.stdout + outcome.stderr
    assert "resolution.spec" in outcome.stderr and "my-spec.yml not found" in outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert not (tmp_path / "project/data/warehouse").exists()  # nothing was read
