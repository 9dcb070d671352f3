"""DAG integrity and structure: dags/ imports without errors, quickly and without heavy libraries; one
ingestion DAG per configured silo (a new silo needs no new DAG file); the assets that chain them; the
customer_360 chain (one task per stage, the dbt stages included); pools, retries, timeouts and callbacks.

Airflow is parsed once in a child process (see support/airflow.py), which describes the DagBag as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.airflow import DAGS_FOLDER, HEAVY_MODULES, airflow_env, emit_result_code, run_airflow_python

from customer360 import orchestration

pytestmark = pytest.mark.airflow

PARSE_SECONDS_LIMIT = 10.0  # generous: the DAG folder parses in about a second here

DESCRIBE = (
    emit_result_code()
    + """
import os, sys, time

started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()


def seconds(value):
    return value.total_seconds() if value is not None else None


def describe(bag):
    dags = {}
    for dag_id, dag in bag.dags.items():
        condition = getattr(dag.timetable, "asset_condition", None)
        tasks = {}
        for task in dag.tasks:
            callbacks = task.on_failure_callback or []
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            policy = getattr(task, "retry_policy", None)
            tasks[task.task_id] = {
                "operator": type(task).__name__,
                "pool": task.pool,
                "retries": task.retries,
                "retry_delay": seconds(task.retry_delay),
                "retry_exponential_backoff": task.retry_exponential_backoff,
                "max_retry_delay": seconds(task.max_retry_delay),
                "execution_timeout": seconds(task.execution_timeout),
                "on_failure_callback": [f"{c.__module__}.{c.__qualname__}" for c in callbacks],
                "retry_policy": policy.serialize() if policy is not None else None,
                "upstream": sorted(task.upstream_task_ids),
                "outlets": [getattr(o, "uri", str(o)) for o in task.outlets],
                "callable": getattr(getattr(task, "python_callable", None), "__name__", None),
            }
        dags[dag_id] = {
            "fileloc": dag.fileloc,
            "tags": sorted(dag.tags),
            "doc_md": dag.doc_md or "",
            "timetable": type(dag.timetable).__name__,
            "schedule_assets": sorted(a.uri for a in getattr(condition, "objects", ())) if condition else [],
            "schedule_kind": type(condition).__name__ if condition else None,
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "params": sorted(dag.params.keys()),
            "tasks": tasks,
        }
    return dags


before = set(sys.modules)
parse_started = time.perf_counter()
bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
parsed = time.perf_counter()
heavy = sorted({name.split(".")[0] for name in set(sys.modules) - before} & set(HEAVY))
result = {
    "import_airflow_seconds": imported - started,
    "parse_seconds": parsed - parse_started,
    "file_seconds": {stat.file: stat.duration.total_seconds() if hasattr(stat.duration, "total_seconds")
                     else stat.duration for stat in bag.dagbag_stats},
    "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
    "heavy_modules": heavy,
    "heavy_modules_loaded_at_all": sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY)),
    "dags": describe(bag),
}
extra = os.environ.get("EXTRA_CONFIG")
if extra:
    os.environ["C360_CONFIG"] = extra
    again = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    result["extra"] = {
        "import_errors": {str(k): str(v) for k, v in again.import_errors.items()},
        "dags": {dag_id: {"schedule_assets": d["schedule_assets"]} for dag_id, d in describe(again).items()},
    }
fresh = os.environ.get("FRESH_CONFIG")
if fresh:
    os.environ["C360_CONFIG"] = fresh
    third = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    result["fresh"] = {
        "import_errors": {os.path.basename(str(k)): str(v) for k, v in third.import_errors.items()},
        "dag_ids": sorted(third.dag_ids),
    }
emit(result)
"""
)


def _config_with_an_extra_silo(project: Any) -> Path:
    """The same configuration plus a fourth silo, `loyalty` (files): config only, no DAG file."""
    data = yaml.safe_load(project.config_path.read_text(encoding="utf-8"))
    data["sources"]["loyalty"] = {
        "description": "Loyalty card programme (members export)",
        "connector": "files",
        "tables": {
            "members": {
                "path": str(project.root / "silos" / "loyalty" / "*.csv"),
                "format": "csv",
                "primary_key": "member_id",
            }
        },
    }
    path = project.root / "customer360.extra.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _config_of_a_fresh_project(project: Any) -> Path:
    """The same configuration with a data folder nothing has run in yet (no warehouse, no dbt project)."""
    data = yaml.safe_load(project.config_path.read_text(encoding="utf-8"))
    data["data_dir"] = str(project.root / "fresh-data")
    path = project.root / "customer360.fresh.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def dagbag(airflow_project, tmp_path_factory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("airflow-home")
    env = airflow_env(
        home,
        airflow_project.config_path,
        HEAVY=",".join(HEAVY_MODULES),
        EXTRA_CONFIG=str(_config_with_an_extra_silo(airflow_project)),
        FRESH_CONFIG=str(_config_of_a_fresh_project(airflow_project)),
    )
    script = DESCRIBE.replace("set(HEAVY)", "set(os.environ['HEAVY'].split(','))")
    result, _ = run_airflow_python(script, env, timeout=300)
    return result


# -- integrity ----------------------------------------------------------------------------------------------


def test_dag_folder_imports_without_errors(dagbag) -> None:
    assert dagbag["import_errors"] == {}
    assert {Path(d["fileloc"]).name for d in dagbag["dags"].values()} == {"c360_ingest.py", "customer_360.py"}


def test_a_fresh_project_needs_no_preparation_before_its_dags_parse(dagbag) -> None:
    """No `dbt parse`, no warehouse: the configuration is all a DAG file reads."""
    fresh = dagbag["fresh"]
    assert fresh["import_errors"] == {}
    assert fresh["dag_ids"] == sorted(dagbag["dags"])


def test_dag_folder_parses_quickly(dagbag) -> None:
    print(f"DAG folder parse: {dagbag['parse_seconds']:.2f}s; per file: {dagbag['file_seconds']}")
    assert dagbag["parse_seconds"] < PARSE_SECONDS_LIMIT


def test_dag_files_import_no_heavy_library(dagbag) -> None:
    """splink, great_expectations, pandas, duckdb, dbt and numpy load inside tasks, never at parse time."""
    assert dagbag["heavy_modules"] == []
    assert dagbag["heavy_modules_loaded_at_all"] == []


def test_every_dag_has_docs_tags_owner_retries_and_a_failure_callback(dagbag) -> None:
    for dag_id, dag in dagbag["dags"].items():
        assert "customer360" in dag["tags"], dag_id
        assert dag["doc_md"].strip(), dag_id
        assert dag["max_active_runs"] == 1 and dag["catchup"] is False, dag_id
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["retries"] >= 1, where
            assert task["execution_timeout"] and task["execution_timeout"] <= 2 * 3600, where
            assert task["on_failure_callback"] == ["customer360.orchestration.on_failure"], where


# -- ingestion DAGs -----------------------------------------------------------------------------------------


def test_one_ingestion_dag_per_configured_silo(dagbag, airflow_project) -> None:
    sources = [source.name for source in airflow_project.config.sources]
    ingest_dags = sorted(dag_id for dag_id in dagbag["dags"] if dag_id.startswith("ingest_"))
    assert ingest_dags == sorted(orchestration.ingest_dag_id(name) for name in sources)
    for source in airflow_project.config.sources:
        dag = dagbag["dags"][orchestration.ingest_dag_id(source.name)]
        assert {"ingest", source.name, source.connector} <= set(dag["tags"])
        assert dag["timetable"] == "CronTriggerTimetable"
        assert set(dag["tasks"]) == {"ingest", f"raw_{source.name}_updated"}


def test_a_new_silo_needs_config_not_a_dag_file(dagbag) -> None:
    extra = dagbag["extra"]
    assert extra["import_errors"] == {}
    assert "ingest_loyalty" in extra["dags"]
    assert "c360://raw/loyalty" in extra["dags"]["customer_360"]["schedule_assets"]


def test_ingest_task_retries_with_exponential_backoff_in_the_warehouse_pool(dagbag) -> None:
    for dag_id, dag in dagbag["dags"].items():
        if not dag_id.startswith("ingest_"):
            continue
        ingest = dag["tasks"]["ingest"]
        assert ingest["pool"] == orchestration.WAREHOUSE_POOL
        assert ingest["retries"] >= 3
        assert ingest["retry_exponential_backoff"] >= 2
        assert ingest["max_retry_delay"] and ingest["max_retry_delay"] > ingest["retry_delay"]


def test_each_ingestion_dag_updates_its_raw_asset_after_ingesting(dagbag) -> None:
    for dag_id, dag in dagbag["dags"].items():
        if not dag_id.startswith("ingest_"):
            continue
        source = dag_id.removeprefix("ingest_")
        announce = dag["tasks"][f"raw_{source}_updated"]
        assert announce["upstream"] == ["ingest"]
        assert announce["outlets"] == [orchestration.raw_asset_uri(source)]
        assert announce["pool"] != orchestration.WAREHOUSE_POOL  # it does not touch the warehouse


# -- customer_360 -------------------------------------------------------------------------------------------


def test_customer_360_is_scheduled_on_any_raw_asset(dagbag, airflow_project) -> None:
    dag = dagbag["dags"]["customer_360"]
    assert dag["timetable"] == "AssetTriggeredTimetable"
    assert dag["schedule_kind"] == "AssetAny"
    assert dag["schedule_assets"] == sorted(
        orchestration.raw_asset_uri(source.name) for source in airflow_project.config.sources
    )
    assert dag["params"] == ["full_resolution"]


def test_customer_360_runs_gate_staging_resolution_marts_check_publish_in_order(dagbag) -> None:
    """One task per stage, calling the stage function `c360 run` calls: dbt builds each layer once, its tests
    with it (one dbt process per layer instead of one per node)."""
    tasks = dagbag["dags"]["customer_360"]["tasks"]
    chain = ["quality_gate", "dbt_staging", "resolve", "dbt_marts", "check_marts", "publish"]
    assert set(tasks) == set(chain)
    for upstream, task_id in zip(chain, chain[1:], strict=False):
        assert upstream in tasks[task_id]["upstream"], f"{upstream} -> {task_id}"
    assert set(tasks["publish"]["upstream"]) == set(chain[:-1])  # it sums up every stage's XCom
    assert tasks["publish"]["outlets"] == [orchestration.MARTS_ASSET_URI, orchestration.PUBLISHED_ASSET_URI]
    assert {task_id: task["callable"] for task_id, task in tasks.items()} == {task_id: task_id for task_id in chain}


def test_every_warehouse_writing_task_shares_the_one_slot_pool(dagbag) -> None:
    for task_id, task in dagbag["dags"]["customer_360"]["tasks"].items():
        assert task["pool"] == orchestration.WAREHOUSE_POOL, task_id


@pytest.mark.parametrize("task_id", ["quality_gate", "check_marts"])
def test_a_blocked_quality_gate_is_not_retried(dagbag, task_id: str) -> None:
    policy = dagbag["dags"]["customer_360"]["tasks"][task_id]["retry_policy"]
    assert policy["rules"][0]["exception"] == "customer360.core.errors.QualityGateBlocked"
    assert policy["rules"][0]["action"] == "fail"


def test_dag_folder_lists_no_import_errors_with_the_airflow_cli(airflow_project, tmp_path) -> None:
    """What an operator runs: `airflow dags list-import-errors` on a fresh metadata database."""
    env = airflow_env(tmp_path / "home", airflow_project.config_path)
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, check=True, timeout=300)
    listed = subprocess.run(
        [airflow, "dags", "list-import-errors", "--output", "json", "--local"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    answers = [line for line in listed.stdout.splitlines() if line.startswith(("[", "{"))]  # after log lines
    answer = answers[-1]
    assert json.loads(answer) == [], listed.stdout[-3000:]
    assert str(DAGS_FOLDER) == env["AIRFLOW__CORE__DAGS_FOLDER"]
