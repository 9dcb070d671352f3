"""DAG integrity and structure: dags/ imports without errors, quickly and without heavy libraries; one
ingestion DAG per configured silo (a new silo needs no new DAG file); the assets that chain them; the
customer_360 chain with its Cosmos task groups; pools, retries, timeouts and callbacks; and that Cosmos
renders the same dbt nodes that `c360 run` builds.

Airflow is parsed once in a child process (see support/airflow.py), which describes the DagBag as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.airflow import DAGS_FOLDER, HEAVY_MODULES, airflow_env, emit_result_code, run_airflow_python

from customer360 import orchestration
from customer360.core.product import DBT_PROJECT_DIR
from customer360.transform import dbt_environment, dbt_project_dir, dbt_vars

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
                "select": getattr(task, "select", None),
                "base_cmd": getattr(task, "base_cmd", None),
                "dbt_executable_path": getattr(task, "dbt_executable_path", None),
                "invocation_mode": str(getattr(task, "invocation_mode", None)),
                "vars": sorted((getattr(task, "vars", None) or {}).keys()),
                "env": getattr(task, "env", None) if task.task_id.startswith("dbt_") else None,
                "append_env": getattr(task, "append_env", None),
                "indirect_selection": getattr(task, "indirect_selection", None),
                "profiles_yml": str(getattr(task, "profile_config", None) and
                                    task.profile_config.profiles_yml_filepath),
            }
        groups = {}
        for group_id, group in dag.task_group_dict.items():
            graph = getattr(group, "dbt_graph", None)
            if graph is not None:
                nodes = graph.filtered_nodes.items()
                groups[group_id] = {uid: node.resource_type.value for uid, node in nodes}
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
            "dbt_groups": groups,
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
missing = os.environ.get("NO_MANIFEST_CONFIG")
if missing:
    os.environ["C360_CONFIG"] = missing
    third = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    result["no_manifest"] = {
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


def _config_without_a_manifest(project: Any) -> Path:
    """The same configuration with a data folder where `make dbt-manifest` has not run yet."""
    data = yaml.safe_load(project.config_path.read_text(encoding="utf-8"))
    data["data_dir"] = str(project.root / "fresh-data")
    path = project.root / "customer360.no-manifest.yml"
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
        NO_MANIFEST_CONFIG=str(_config_without_a_manifest(airflow_project)),
    )
    script = DESCRIBE.replace("set(HEAVY)", "set(os.environ['HEAVY'].split(','))")
    result, _ = run_airflow_python(script, env, timeout=300)
    return result


# -- integrity ----------------------------------------------------------------------------------------------


def test_dag_folder_imports_without_errors(dagbag) -> None:
    assert dagbag["import_errors"] == {}
    assert {Path(d["fileloc"]).name for d in dagbag["dags"].values()} == {"c360_ingest.py", "customer_360.py"}


def test_without_a_manifest_the_360_dag_says_what_to_run_and_ingestion_still_loads(dagbag) -> None:
    missing = dagbag["no_manifest"]
    assert set(missing["import_errors"]) == {"customer_360.py"}
    assert "make dbt-manifest" in missing["import_errors"]["customer_360.py"]
    assert missing["dag_ids"] == sorted(d for d in dagbag["dags"] if d.startswith("ingest_"))


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


def _stage(task_id: str) -> str:
    return task_id.split(".", 1)[0]


def test_customer_360_runs_gate_staging_resolution_marts_check_publish_in_order(dagbag) -> None:
    tasks = dagbag["dags"]["customer_360"]["tasks"]
    assert {_stage(task_id) for task_id in tasks} == {
        "quality_gate",
        "dbt_staging",
        "resolve",
        "dbt_marts",
        "check_marts",
        "publish",
    }
    order = {"quality_gate": 0, "dbt_staging": 1, "resolve": 2, "dbt_marts": 3, "check_marts": 4, "publish": 5}
    for task_id, task in tasks.items():
        for upstream in task["upstream"]:
            assert order[_stage(upstream)] <= order[_stage(task_id)], f"{upstream} -> {task_id}"
    staging = [t for t in tasks if _stage(t) == "dbt_staging"]
    marts = [t for t in tasks if _stage(t) == "dbt_marts"]
    roots_of_staging = [t for t in staging if not any(_stage(u) == "dbt_staging" for u in tasks[t]["upstream"])]
    assert roots_of_staging and all(tasks[t]["upstream"] == ["quality_gate"] for t in roots_of_staging)
    leaves_of_staging = [t for t in staging if not any(t in tasks[o]["upstream"] for o in staging)]
    assert set(tasks["resolve"]["upstream"]) == set(leaves_of_staging)
    roots_of_marts = [t for t in marts if not any(_stage(u) == "dbt_marts" for u in tasks[t]["upstream"])]
    assert roots_of_marts and all(tasks[t]["upstream"] == ["resolve"] for t in roots_of_marts)
    leaves_of_marts = {t for t in marts if not any(t in tasks[o]["upstream"] for o in marts)}
    assert leaves_of_marts <= set(tasks["check_marts"]["upstream"])
    assert "check_marts" in tasks["publish"]["upstream"]
    assert tasks["publish"]["outlets"] == [orchestration.MARTS_ASSET_URI, orchestration.PUBLISHED_ASSET_URI]


def test_every_warehouse_writing_task_shares_the_one_slot_pool(dagbag) -> None:
    for task_id, task in dagbag["dags"]["customer_360"]["tasks"].items():
        assert task["pool"] == orchestration.WAREHOUSE_POOL, task_id


@pytest.mark.parametrize("task_id", ["quality_gate", "check_marts"])
def test_a_blocked_quality_gate_is_not_retried(dagbag, task_id: str) -> None:
    policy = dagbag["dags"]["customer_360"]["tasks"][task_id]["retry_policy"]
    assert policy["rules"][0]["exception"] == "customer360.core.errors.QualityGateBlocked"
    assert policy["rules"][0]["action"] == "fail"


def test_every_dbt_model_and_seed_is_a_cosmos_task_run_with_the_cli_profile_env_and_vars(
    dagbag, airflow_project
) -> None:
    tasks = dagbag["dags"]["customer_360"]["tasks"]
    dbt_tasks = {t: task for t, task in tasks.items() if t.startswith("dbt_")}
    operators = {task["operator"] for task in dbt_tasks.values()}
    assert {"DbtRunLocalOperator", "DbtSeedLocalOperator", "DbtTestLocalOperator"} <= operators
    expected_env = orchestration.cosmos_environment(airflow_project.config)
    for task_id, task in dbt_tasks.items():
        assert task["dbt_executable_path"] == str(Path(sys.executable).parent / "dbt"), task_id
        assert task["invocation_mode"] == "InvocationMode.SUBPROCESS", task_id
        assert task["vars"] == sorted(dbt_vars(airflow_project.config)), task_id
        assert task["env"] == expected_env and task["append_env"] is True, task_id
        assert task["profiles_yml"] == str(DBT_PROJECT_DIR / "profiles.yml"), task_id
    # each model has its own test task after it, for the tests of that model alone; tests of several models
    # get a task of their own
    model_tests = [task for t, task in dbt_tasks.items() if t.endswith(".test")]
    assert model_tests and all(task["indirect_selection"] == "cautious" for task in model_tests)
    assert any(t.endswith("_test") and task["operator"] == "DbtTestLocalOperator" for t, task in dbt_tasks.items())


def _dbt_ls(config, select: str, exclude: str | None) -> dict[str, str]:
    """dbt's own answer: unique_id -> resource_type of a selection (the CLI's profile, env and vars)."""
    command = [
        sys.executable, "-c", "from dbt.cli.main import cli; cli()", "--quiet", "ls",
        "--select", select, "--output", "json", "--vars", json.dumps(dbt_vars(config)),
        "--project-dir", str(dbt_project_dir(config)), "--profiles-dir", str(DBT_PROJECT_DIR),
    ]  # fmt: skip
    if exclude:
        command += ["--exclude", exclude]
    env = {**os.environ, **dbt_environment(config)}
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=300).stdout
    nodes = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {node["unique_id"]: node["resource_type"] for node in nodes}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("group", "stage"), [("dbt_staging", "staging"), ("dbt_marts", "marts")], ids=["staging", "marts"]
)
def test_cosmos_groups_build_what_the_cli_stages_build(dagbag, airflow_project, monkeypatch, group, stage) -> None:
    """The models and seeds of each Cosmos task group are exactly those `dbt build` gets from
    pipeline.staging and pipeline.marts, and every test dbt runs there has a parent built by then (so a test
    task runs it)."""
    from customer360 import pipeline, transform

    calls: list[tuple[str, str | None]] = []
    monkeypatch.setattr(transform, "build", lambda config, select, exclude=None, **_: calls.append((select, exclude)))
    getattr(pipeline, stage)(pipeline.RunContext.new(airflow_project.config))
    (select, exclude), selection = calls[0], getattr(orchestration, f"DBT_{stage.upper()}")
    assert (select, exclude) == (selection.cli_select, selection.cli_exclude), "update orchestration.DBT_*"

    expected = _dbt_ls(airflow_project.config, select, exclude)
    groups = dagbag["dags"]["customer_360"]["dbt_groups"]
    rendered = groups[group]
    buildable = {"model", "seed", "snapshot"}
    assert {u for u, kind in rendered.items() if kind in buildable} == {
        u for u, kind in expected.items() if kind in buildable
    }
    built_by_then = set(groups["dbt_staging"]) | (set(rendered) if group == "dbt_marts" else set())
    manifest = json.loads(airflow_project.manifest.read_text(encoding="utf-8"))
    for unique_id, kind in expected.items():
        if kind == "test":
            depends_on = set(manifest["nodes"][unique_id]["depends_on"]["nodes"])
            assert depends_on & built_by_then, f"{unique_id} would run in no task"


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
