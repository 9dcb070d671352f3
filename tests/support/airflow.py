"""Airflow in a box for tests: a temp AIRFLOW_HOME with a SQLite metadata database, the repository's dags/,
and a customer360 configuration whose data lives in a temp folder.

Airflow reads its configuration once per process (and keeps global ORM state), so every test talks to Airflow
in a child process (`run_airflow_python`); the test process itself never imports Airflow.

`airflow_project` (session scope): demo silos for a small world and a config pointing into a temp folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from customer360.core.config import Config, load_config

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
AIRFLOW_PEOPLE = 150
AIRFLOW_SEED = 7
RESULT_MARKER = "@@C360-RESULT@@ "
HEAVY_MODULES = ("splink", "great_expectations", "pandas", "duckdb", "dbt", "numpy")


@dataclass
class AirflowProject:
    root: Path  # customer360.yml, data/, silos/, airflow/
    config_path: Path
    config: Config

    @property
    def silos(self) -> Path:
        return self.root / "silos"


def airflow_env(home: Path, config_path: Path, **extra: str) -> dict[str, str]:
    """Environment for an Airflow child process: own home and SQLite DB, our DAG folder, no telemetry."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "C360_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "SCARF_NO_ANALYTICS": "true",
            "DO_NOT_TRACK": "true",
            "C360_CONFIG": str(config_path),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def run_airflow_python(script: str, env: dict[str, str], timeout: float = 600, cwd: Path = REPO) -> tuple[Any, str]:
    """Run a Python script in a child process; it prints its result as JSON after RESULT_MARKER.

    Returns (result, full output). A failing script fails the test with the end of its output.
    """
    outcome = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = outcome.stdout + outcome.stderr
    log = Path(env["AIRFLOW_HOME"]) / "child-output.log"  # the whole log, for a failing assertion
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output, encoding="utf-8")
    results = [line[len(RESULT_MARKER) :] for line in outcome.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if outcome.returncode != 0 or not results:
        pytest.fail(f"Airflow child process failed (exit {outcome.returncode}, log {log}):\n{output[-6000:]}")
    return json.loads(results[-1]), output


def emit_result_code() -> str:
    """Python source defining `emit(value)`, which prints a result for run_airflow_python."""
    return (
        "import json as _json\n"
        "def emit(value):\n"
        f"    print({RESULT_MARKER!r} + _json.dumps(value, default=str), flush=True)\n"
    )


def make_airflow_project(root: Path) -> AirflowProject:
    from c360_devtools.demo.generator import generate_silos

    from support.demo_pipeline import write_demo_config

    silos = root / "silos"
    generate_silos(silos, people=AIRFLOW_PEOPLE, seed=AIRFLOW_SEED)
    # the helpdesk URL is a placeholder: tests that ingest the service silo set C360_HELPDESK_URL
    config_path = write_demo_config(root, silos, "${C360_HELPDESK_URL:-http://127.0.0.1:9/api/v2}")
    return AirflowProject(root=root, config_path=config_path, config=load_config(config_path))


@pytest.fixture(scope="session")
def airflow_project(tmp_path_factory: pytest.TempPathFactory) -> AirflowProject:
    return make_airflow_project(tmp_path_factory.mktemp("airflow-project"))
