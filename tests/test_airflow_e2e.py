"""End to end with real Airflow: the three ingestion DAGs and then customer_360 run with `dag.test()` on a
SQLite metadata database (in a child process, so Airflow's configuration stays out of the other tests), on a
small demo world whose helpdesk API is served from this process.

Checked: every task of every DAG runs for real and succeeds; each ingestion DAG updates its raw asset, which
queues customer_360; the dbt tasks build every node of their layer with its tests (marts.customer_identity_map
has one row per identity record) and log each node; the last task logs the run summary; a second ingestion run
with nothing new changes nothing and updates no asset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pytest
from support.airflow import airflow_env, emit_result_code, run_airflow_python

from customer360 import orchestration
from customer360.transform import FAILED_STATUSES

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.slow]

SCRIPT = (
    emit_result_code()
    + """
import os, time

from airflow.models.pool import Pool
from airflow.utils.db import initdb

initdb()
Pool.create_or_update_pool(
    os.environ["POOL"], slots=1, description="DuckDB allows one writer", include_deferred=False
)

from airflow import settings
from airflow.dag_processing.dagbag import DagBag
from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel

bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
assert not bag.import_errors, bag.import_errors
result = {"runs": {}}


def run(dag_id, **kwargs):
    started = time.perf_counter()
    dag_run = bag.get_dag(dag_id).test(**kwargs)
    tasks = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    xcom = {}
    for ti in dag_run.get_task_instances():
        if ti.state == "success":
            xcom[ti.task_id] = ti.xcom_pull(task_ids=ti.task_id, key="return_value")
    return {"state": dag_run.state, "run_id": dag_run.run_id, "tasks": tasks, "xcom": xcom,
            "logical_date": dag_run.logical_date.isoformat(), "seconds": time.perf_counter() - started}


sources = [dag_id for dag_id in bag.dag_ids if dag_id.startswith("ingest_")]
for dag_id in sorted(sources):
    result["runs"][dag_id] = run(dag_id)

session = settings.Session()


def asset_events():
    session.expire_all()
    return [
        {"uri": uri, "extra": extra, "dag": dag}
        for uri, extra, dag in session.query(AssetModel.uri, AssetEvent.extra, AssetEvent.source_dag_id)
        .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
        .all()
    ]


result["asset_events"] = asset_events()
result["queued_for_customer_360"] = sorted(
    uri for (uri,) in session.query(AssetModel.uri)
    .join(AssetDagRunQueue, AssetDagRunQueue.asset_id == AssetModel.id)
    .filter(AssetDagRunQueue.target_dag_id == "customer_360")
    .all()
)

result["runs"]["customer_360"] = run("customer_360")
first = sorted(sources)[0]
result["runs"]["again"] = run(first)
result["again_source"] = first
result["asset_events_after_again"] = asset_events()
emit(result)
"""
)


@pytest.fixture(scope="module")
def airflow_run(airflow_project, tmp_path_factory) -> dict[str, Any]:
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI

    home = tmp_path_factory.mktemp("airflow-e2e")
    with HelpdeskAPI(airflow_project.silos / "service") as api:
        env = airflow_env(
            home,
            airflow_project.config_path,
            C360_HELPDESK_URL=api.base_url,
            POOL=orchestration.WAREHOUSE_POOL,
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",  # so that asset events queue customer_360
        )
        result, output = run_airflow_python(SCRIPT, env, timeout=1500)
    result["output"] = output
    return result


def test_every_ingestion_dag_succeeds_and_updates_its_raw_asset(airflow_run, airflow_project) -> None:
    for source in airflow_project.config.sources:
        run = airflow_run["runs"][orchestration.ingest_dag_id(source.name)]
        assert run["state"] == "success", run
        assert run["tasks"] == {"ingest": "success", f"raw_{source.name}_updated": "success"}
        assert run["xcom"]["ingest"]["rows_loaded"] > 0
        assert run["xcom"]["ingest"]["run_id"] == orchestration.pipeline_run_id(
            orchestration.ingest_dag_id(source.name),
            run["run_id"],
            datetime.fromisoformat(run["logical_date"]),
        )
    events = {event["uri"]: event for event in airflow_run["asset_events"] if event["uri"].startswith("c360://raw/")}
    assert set(events) == {orchestration.raw_asset_uri(source.name) for source in airflow_project.config.sources}
    assert all(event["extra"]["rows_loaded"] > 0 for event in events.values())


def test_raw_assets_queue_customer_360(airflow_run, airflow_project) -> None:
    assert airflow_run["queued_for_customer_360"] == sorted(
        orchestration.raw_asset_uri(source.name) for source in airflow_project.config.sources
    )


def test_customer_360_runs_every_task(airflow_run) -> None:
    run = airflow_run["runs"]["customer_360"]
    assert run["tasks"] == dict.fromkeys(
        ["quality_gate", "dbt_staging", "resolve", "dbt_marts", "check_marts", "publish"], "success"
    )
    assert run["state"] == "success"


@pytest.mark.parametrize("task_id", ["dbt_staging", "dbt_marts"])
def test_each_dbt_task_builds_its_whole_layer_with_tests_and_logs_every_node(airflow_run, task_id) -> None:
    dbt = airflow_run["runs"]["customer_360"]["xcom"][task_id]
    dbt = dbt.get("dbt", dbt)  # the staging report wraps dbt's result
    statuses = dbt["statuses"]
    assert not set(statuses) & FAILED_STATUSES and statuses["success"] > 0 and statuses["pass"] > 0, statuses
    assert dbt["nodes"] == sum(statuses.values()) and dbt["failures"] == []
    layer = "dbt staging" if task_id == "dbt_staging" else "dbt marts"
    assert f"{layer}: {dbt['nodes']} dbt nodes" in airflow_run["output"]
    for unique_id in dbt["slowest"]:
        assert unique_id in airflow_run["output"]


def test_customer_360_builds_the_marts(airflow_run, airflow_project) -> None:
    with duckdb.connect(str(airflow_project.config.warehouse_path), read_only=True) as con:
        identity_records = con.execute("select count(*) from staging.int_identity_records").fetchone()[0]
        mapped = con.execute("select count(*) from marts.customer_identity_map").fetchone()[0]
        resolved = con.execute("select count(*) from entity_resolution.identity_map").fetchone()[0]
        customers = con.execute("select count(distinct customer_id) from marts.customer_identity_map").fetchone()[0]
    assert identity_records > 0
    assert mapped == identity_records == resolved
    assert 0 < customers <= identity_records


def test_last_task_logs_the_run_summary_and_publishes(airflow_run, airflow_project) -> None:
    run = airflow_run["runs"]["customer_360"]
    summary = run["xcom"]["publish"]
    run_id = summary["run_id"]
    assert run_id.startswith("r") and "-customer_360-" in run_id
    moment = datetime.fromisoformat(run["logical_date"])
    assert run_id == orchestration.pipeline_run_id("customer_360", run["run_id"], moment)
    assert summary["identity_records"] > 0 and summary["customers"] > 0
    assert summary["stages"]["publish"]
    assert f"customer360 run {run_id}: summary" in airflow_run["output"]
    for line in ("rows in raw:", "quarantined rows:", "customers:", "merges:"):
        assert line in airflow_run["output"]


def test_ingesting_again_without_new_data_changes_nothing(airflow_run) -> None:
    source = airflow_run["again_source"].removeprefix("ingest_")
    again = airflow_run["runs"]["again"]
    assert again["state"] == "success"
    assert again["tasks"] == {"ingest": "success", f"raw_{source}_updated": "skipped"}
    assert again["xcom"]["ingest"]["rows_loaded"] == 0
    uri = orchestration.raw_asset_uri(source)
    before = [e for e in airflow_run["asset_events"] if e["uri"] == uri]
    after = [e for e in airflow_run["asset_events_after_again"] if e["uri"] == uri]
    assert len(before) == len(after) == 1
