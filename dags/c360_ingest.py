"""
### Ingestion: one DAG per silo in `customer360.yml`

`ingest_<source>` loads what is new in one silo into `raw_<source>` (incremental: files once by content,
databases and APIs past their cursor), then updates the asset **`c360://raw/<source>`**, which schedules
`customer_360`. The DAGs are generated from the configuration (`$C360_CONFIG`): a new silo needs a block in
`customer360.yml`, not a new DAG file.

* `ingest` calls `customer360.pipeline.ingest(ctx, sources=[source])`, the function behind `c360 ingest`.
  It runs in the one-slot pool `c360_warehouse` (DuckDB allows one writer) and retries with exponential
  backoff while the source cannot be read. Re-running is safe: nothing is loaded twice.
* `raw_<source>_updated` updates the asset (with the row counts) when rows were delivered; it is skipped
  when the silo had nothing new, so an idle silo does not rebuild the 360.

The pipeline run id comes from the Airflow run (`r<logical date>-ingest_<source>-<hash>`): a retry or a
cleared task writes the same run again. Guide: docs/airflow.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, dag, get_current_context, task

from customer360 import orchestration

CONFIG = orchestration.dag_config()


def ingestion_dag(source_name: str, connector: str, description: str | None, schedule: str) -> DAG:
    raw = orchestration.raw_asset(source_name)

    @dag(
        dag_id=orchestration.ingest_dag_id(source_name),
        description=description or f"Load new rows of the {source_name} silo into raw_{source_name}",
        doc_md=__doc__,
        schedule=schedule,  # sources.<name>.schedule in customer360.yml
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["customer360", "ingest", source_name, connector],
        default_args={
            "owner": "customer360",
            "pool": orchestration.WAREHOUSE_POOL,
            "retries": 1,
            "retry_delay": timedelta(minutes=1),
            "execution_timeout": timedelta(minutes=10),
            "on_failure_callback": orchestration.on_failure,
        },
    )
    def ingest_silo() -> None:
        @task(
            task_id="ingest",
            retries=4,
            retry_delay=timedelta(seconds=30),
            retry_exponential_backoff=2.0,
            max_retry_delay=timedelta(minutes=10),
            execution_timeout=timedelta(minutes=30),
        )
        def ingest() -> dict:
            context = get_current_context()
            return orchestration.ingest_source(orchestration.run_context(context), source_name)

        @task(task_id=f"raw_{source_name}_updated", outlets=[raw], pool="default_pool")
        def announce(summary: dict) -> None:
            from airflow.sdk.exceptions import AirflowSkipException

            if not orchestration.has_new_data(summary):
                raise AirflowSkipException(f"{source_name}: nothing new delivered; {raw.uri} stays as it was")
            get_current_context()["outlet_events"][raw].extra = {
                "run_id": summary["run_id"],
                "rows_loaded": summary["rows_loaded"],
                "rows_rejected": summary["rows_rejected"],
            }

        announce(ingest())

    return ingest_silo()


for _source in CONFIG.sources:
    globals()[orchestration.ingest_dag_id(_source.name)] = ingestion_dag(
        _source.name, _source.connector, _source.description, _source.schedule
    )
