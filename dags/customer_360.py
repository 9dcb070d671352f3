"""
### customer_360: quality gate → dbt staging → entity resolution → dbt marts → publish

Scheduled on the assets of the ingestion DAGs: **any** `c360://raw/<source>` update starts a run, so new
data of one silo reaches the 360 without waiting for the others (a silo that is down must not hold back the
rest). Runs are incremental and `max_active_runs=1`: updates that arrive during a run start the next one.

| task | calls (the same functions as the CLI) |
|---|---|
| `quality_gate` | `pipeline.validate`: Great Expectations, bad rows to quarantine; may block the run |
| `dbt_staging` | `pipeline.staging`: identity rows no mapping can use held back, then one `dbt build` of seeds, staging and intermediate models with their tests; the log lists every node |
| `resolve` | `pipeline.resolve`: Splink scoring, clustering, stable customer IDs |
| `dbt_marts` | `pipeline.marts`: privacy requests in force, then one `dbt build` of the marts with their tests; the log lists every node |
| `check_marts` | `pipeline.check_marts`: Great Expectations on the key marts; a failure stops publishing |
| `publish` | `pipeline.publish`: the read-only snapshot, then `pipeline.retention`; logs the run summary; updates `c360://published/…` |

Every task writes the warehouse and runs in the one-slot pool `c360_warehouse`. The pipeline run id comes
from the Airflow run, so a retried or cleared task writes the same run again. Param `full_resolution`
resolves every record again. Guide: docs/airflow.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import (
    AssetAny,
    ExceptionRetryPolicy,
    Param,
    RetryAction,
    RetryRule,
    chain,
    dag,
    get_current_context,
    task,
)

from customer360 import orchestration

CONFIG = orchestration.dag_config()

# A blocked quality gate is a verdict on the data, not a glitch: retrying cannot change it.
GATE_BLOCKED_FAILS = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception="customer360.core.errors.QualityGateBlocked",
            action=RetryAction.FAIL,
            reason="the quality gate blocked the run: the same data cannot pass on a retry",
        )
    ]
)


@dag(
    dag_id=orchestration.CUSTOMER_360_DAG_ID,
    description="Quality gate, dbt staging, entity resolution, dbt marts and publish of the customer 360",
    doc_md=__doc__,
    schedule=AssetAny(*(orchestration.raw_asset(source.name) for source in CONFIG.sources)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["customer360", "360", "dbt", "splink"],
    params={"full_resolution": Param(False, type="boolean", description="resolve every record again")},
    default_args={
        "owner": "customer360",
        "pool": orchestration.WAREHOUSE_POOL,
        "retries": 1,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=30),
        "on_failure_callback": orchestration.on_failure,
    },
)
def customer_360() -> None:
    @task(retry_policy=GATE_BLOCKED_FAILS)
    def quality_gate() -> dict:
        from customer360 import pipeline

        context = get_current_context()
        for asset, events in (context.get("triggering_asset_events") or {}).items():
            for event in events:
                orchestration.log.info("triggered by %s: %s", getattr(asset, "uri", asset), event.extra)
        return orchestration.summarise(pipeline.validate(orchestration.run_context(context)))

    @task
    def dbt_staging() -> dict:
        from customer360 import pipeline

        report = pipeline.staging(orchestration.run_context(get_current_context()))
        orchestration.log_dbt_nodes("dbt staging", report.dbt)
        return orchestration.summarise(report)

    @task(execution_timeout=timedelta(hours=2))
    def resolve() -> dict:
        from customer360 import pipeline

        context = get_current_context()
        full = bool(context["params"].get("full_resolution"))
        return orchestration.summarise(pipeline.resolve(orchestration.run_context(context), full=full))

    @task
    def dbt_marts() -> dict:
        from customer360 import pipeline

        result = pipeline.marts(orchestration.run_context(get_current_context()))
        orchestration.log_dbt_nodes("dbt marts", result)
        return orchestration.summarise(result)

    @task(retry_policy=GATE_BLOCKED_FAILS)
    def check_marts() -> dict:
        from customer360 import pipeline

        return orchestration.summarise(pipeline.check_marts(orchestration.run_context(get_current_context())))

    @task(outlets=[orchestration.marts_asset(), orchestration.published_asset()])
    def publish(gate: dict, staged: dict, resolution: dict, built: dict) -> dict:
        from customer360 import pipeline

        ctx = orchestration.run_context(get_current_context())
        published = orchestration.summarise(pipeline.publish(ctx))
        kept = orchestration.summarise(pipeline.retention(ctx))  # as `c360 run` does after publishing
        stages = {
            "quality_gate": gate,
            "dbt_staging": staged,
            "resolve": resolution,
            "dbt_marts": built,
            "publish": published,
            "retention": kept,
        }
        summary = orchestration.run_summary(ctx.config, ctx.run_id, stages)
        orchestration.log.info("%s", orchestration.format_summary(summary))
        return summary

    gate, staged, resolution, built = quality_gate(), dbt_staging(), resolve(), dbt_marts()
    chain(gate, staged, resolution, built, check_marts(), publish(gate, staged, resolution, built))


customer_360()
