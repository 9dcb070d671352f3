"""The helpers the DAGs share (customer360.orchestration), without Airflow: run ids, failure messages, the run
summary, what counts as new data. Fast: part of the default test run."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from types import SimpleNamespace

from customer360 import orchestration
from customer360.core.errors import QualityGateBlocked, StageFailed


def _context(dag_id: str = "customer_360", run_id: str = "manual__2026-11-23T12:00:00+00:00", **extra):
    moment = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    dag_run = SimpleNamespace(dag_id=dag_id, run_id=run_id, logical_date=moment, run_after=moment)
    ti = SimpleNamespace(task_id=extra.pop("task_id", "resolve"), dag_id=dag_id, try_number=2, max_tries=1)
    return {"dag_run": dag_run, "ti": ti, **extra}


def test_pipeline_run_id_is_deterministic_sortable_and_names_the_dag() -> None:
    moment = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    first = orchestration.pipeline_run_id("customer_360", "asset_triggered__2026-11-23T13:00:00", moment)
    again = orchestration.pipeline_run_id("customer_360", "asset_triggered__2026-11-23T13:00:00", moment)
    other = orchestration.pipeline_run_id("customer_360", "manual__2026-11-23T13:00:00", moment)
    assert first == again
    assert first != other
    assert first.startswith("r20261123T130000Z-customer_360-")
    assert sorted([orchestration.pipeline_run_id("d", "x", datetime(2027, 1, 1, tzinfo=UTC)), first])[0] == first


def test_run_moment_falls_back_to_run_after_for_runs_without_logical_date() -> None:
    queued = datetime(2026, 11, 23, 14, 5, 7)
    dag_run = SimpleNamespace(dag_id="customer_360", run_id="asset_triggered__x", logical_date=None, run_after=queued)
    moment = orchestration.run_moment({"dag_run": dag_run})
    assert moment == queued.replace(tzinfo=UTC)
    assert orchestration.run_id_of({"dag_run": dag_run}).startswith("r20261123T140507Z-customer_360-")


def test_new_data_means_loaded_or_quarantined_rows() -> None:
    assert orchestration.has_new_data({"rows_loaded": 3, "rows_rejected": 0})
    assert orchestration.has_new_data({"rows_loaded": 0, "rows_rejected": 1})
    assert not orchestration.has_new_data({"rows_loaded": 0, "rows_rejected": 0})


def test_stage_of_task_ids_of_both_dags() -> None:
    assert orchestration.stage_of("ingest")[0] == "ingestion"
    assert orchestration.stage_of("raw_sales_updated")[0] == "ingestion"
    assert orchestration.stage_of("quality_gate")[0] == "quality gate"
    assert orchestration.stage_of("dbt_staging")[0] == "dbt staging"
    assert orchestration.stage_of("resolve")[0] == "entity resolution"
    assert orchestration.stage_of("dbt_marts")[0] == "dbt marts"
    assert orchestration.stage_of("publish")[0] == "publish"


def test_failure_message_says_task_stage_error_and_what_to_do() -> None:
    context = _context(exception=StageFailed("Splink found no identity records in staging.int_identity_records"))
    message = orchestration.failure_message(context)
    assert "task 'resolve' of DAG 'customer_360' failed after 2 of 2 tries" in message
    assert "stage: entity resolution" in message
    assert "What failed: Splink found no identity records" in message
    assert "What to do:" in message and "clear the task" in message
    assert "last published snapshot" in message
    assert "pipeline run r20261123T120000Z-customer_360-" in message


def test_failure_message_of_a_blocked_gate_and_of_an_unexpected_error() -> None:
    blocked = orchestration.failure_message(
        _context(task_id="quality_gate", exception=QualityGateBlocked("batch b1 of sales.customers rejected"))
    )
    assert "stage: quality gate" in blocked and "Not retried" in blocked
    assert "batch b1 of sales.customers rejected" in blocked

    crash = orchestration.failure_message(_context(task_id="publish", exception=KeyError("snapshot")))
    assert "What failed: KeyError: 'snapshot'" in crash
    assert "not one of the pipeline's own errors" in crash

    ingest = orchestration.failure_message(
        _context(dag_id="ingest_service", task_id="ingest", exception=StageFailed("HTTP 503 from /tickets"))
    )
    assert "stage: ingestion" in ingest and "other silos are not affected" in ingest


def test_failure_message_never_fails_on_a_sparse_context() -> None:
    assert "failed" in orchestration.failure_message({})


def test_format_summary_names_rows_customers_merges_and_quarantine() -> None:
    text = orchestration.format_summary(
        {
            "run_id": "r20261123T120000Z-customer_360-abcd",
            "raw_rows": {"marketing": 2203, "sales": 3020, "service": 598},
            "quarantined_rows": 4,
            "identity_records": 818,
            "customers": 529,
            "customers_with_several_records": 230,
            "records_merged": 289,
            "id_events_this_run": {"created": 529},
        }
    )
    assert "customer360 run r20261123T120000Z-customer_360-abcd: summary" in text
    assert "rows in raw:       5,821 (marketing 2,203, sales 3,020, service 598)" in text
    assert "quarantined rows:  4" in text
    assert "customers:         529 (230 with 2+ records)" in text
    assert "merges:            289 records" in text and "created 529" in text


def test_importing_the_helpers_is_cheap() -> None:
    """The DAG processor imports customer360.orchestration on every parse: no Airflow, dbt, DuckDB, pandas."""
    code = (
        "import sys, customer360.orchestration\n"
        "heavy = {'airflow', 'dbt', 'duckdb', 'pandas', 'numpy', 'splink', 'great_expectations'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
