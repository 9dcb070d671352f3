"""Run dbt on the warehouse: the one place that knows how to call dbt and what to pass it.

dbt reads the warehouse path from the environment (the committed profiles.yml) and the identity mappings of
customer360.yml as a var, so the SQL stays configuration-driven and `dbt` can still be run by hand through
`c360 dbt -- <args>`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from customer360.core.config import Config
from customer360.core.errors import StageFailed

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


class DbtError(StageFailed):
    """A dbt command failed; the message lists the failing nodes."""


@dataclass
class DbtResult:
    command: list[str]
    success: bool
    failures: list[str] = field(default_factory=list)
    nodes: int = 0


def dbt_vars(config: Config) -> dict[str, object]:
    """The vars every dbt call receives: identity mappings and raw tables from customer360.yml."""
    mappings = []
    for system, source, mapping in config.identity_mappings():
        mappings.append(
            {
                "source_system": system,
                "schema": source.raw_schema,
                "table": mapping.table,
                "source_record_id": mapping.source_record_id,
                "fields": {name: expression for name, expression in mapping.expressions().items()},
                "date_formats": mapping.date_formats,
                "where": mapping.where,
            }
        )
    return {"c360_identity_mappings": mappings, "c360_cluster_size_cap": config.resolution.cluster_size_cap}


def dbt_environment(config: Config) -> dict[str, str]:
    return {
        "C360_WAREHOUSE": str(config.warehouse_path),
        "C360_MEMORY_LIMIT": config.warehouse.memory_limit,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_LOG_PATH": str(config.data_path / "logs" / "dbt"),
        "DBT_TARGET_PATH": str(config.data_path / "dbt_target"),
    }


def run_dbt(config: Config, args: Sequence[str], raise_on_failure: bool = True, quiet: bool = True) -> DbtResult:
    """Run dbt with the project's profile, vars and paths.

    dbt runs in a child process: dbt-duckdb keeps its DuckDB instance open inside the process that ran it, which
    would lock the warehouse against the next stage; a child process also keeps dbt's global logging to itself.
    """
    command = list(args)
    if command and command[0] in {"build", "run", "test", "seed", "compile", "parse", "ls", "list", "docs", "show"}:
        variables = dbt_vars(config)
        if "--vars" in command:  # the caller's vars win over ours
            position = command.index("--vars")
            variables.update(yaml.safe_load(command[position + 1]) or {})
            del command[position : position + 2]
        command += ["--vars", json.dumps(variables)]
        if quiet and command[0] not in {"ls", "list", "show"}:
            command.insert(0, "--quiet")
    environment = {**os.environ, **dbt_environment(config)}
    target = Path(environment["DBT_TARGET_PATH"])
    run_results = target / "run_results.json"
    run_results.unlink(missing_ok=True)
    outcome = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dbt.cli.main import cli; cli()",
            *command,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        env=environment,
        capture_output=quiet,
        text=True,
        check=False,
    )
    failures, nodes = _failures(run_results)
    result = DbtResult(command=command, success=outcome.returncode == 0, failures=failures, nodes=nodes)
    if raise_on_failure and not result.success:
        detail = "\n".join(f"  - {failure}" for failure in failures) or (outcome.stdout or "") + (outcome.stderr or "")
        raise DbtError(f"dbt {' '.join(args)} failed:\n{detail.strip()}")
    return result


def _failures(run_results: Path) -> tuple[list[str], int]:
    if not run_results.is_file():
        return [], 0
    results = json.loads(run_results.read_text(encoding="utf-8")).get("results", [])
    failures = [
        f"{item['unique_id']}: {(item.get('message') or '').strip()}"
        for item in results
        if item.get("status") in {"error", "fail", "runtime error"}
    ]
    return failures, len(results)


def build(config: Config, select: str, exclude: str | None = None) -> DbtResult:
    """`dbt build` (seed + run + test) for a selection, e.g. the staging layer or the marts."""
    args = ["build", "--select", select]
    if exclude:
        args += ["--exclude", exclude]
    return run_dbt(config, args)


def generate_docs(config: Config) -> Path:
    """`dbt docs generate` (plus a self-contained static page) into `<data_dir>/reports/dbt_docs/`."""
    run_dbt(config, ["docs", "generate", "--static"])
    target = Path(dbt_environment(config)["DBT_TARGET_PATH"])
    folder = config.reports_dir / "dbt_docs"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "static_index.html", "manifest.json", "catalog.json"):
        if (target / name).is_file():
            shutil.copy2(target / name, folder / name)
    return folder
