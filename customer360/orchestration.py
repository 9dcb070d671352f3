"""What the Airflow DAGs in dags/ share: names (pool, assets), run ids, failure messages and the run summary.
No pipeline logic lives here: every task calls a stage of customer360.pipeline, the same functions the CLI
calls.

Importing this module is cheap (it reads configuration only): the DAG processor imports it on every parse.
Airflow, DuckDB and the pipeline are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import textwrap
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.core.config import CONFIG_ENV_VAR, DEFAULT_CONFIG, Config, ConfigError, load_config
from customer360.core.errors import C360Error, QualityGateBlocked, StageFailed

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from customer360.pipeline import RunContext
    from customer360.transform import DbtResult

log = logging.getLogger("customer360.airflow")

# DuckDB allows one writer: every task that writes the warehouse (ingest, quality gate, dbt, resolution,
# publish) runs in this pool, which has one slot. `make airflow` and the compose stack create it.
WAREHOUSE_POOL = "c360_warehouse"
WAREHOUSE_POOL_SLOTS = 1
WAREHOUSE_POOL_DESCRIPTION = "customer360: DuckDB allows one writer, so warehouse-writing tasks take turns"

CUSTOMER_360_DAG_ID = "customer_360"
ASSET_GROUP = "customer360"
MARTS_ASSET_URI = "c360://warehouse/marts"  # the marts in the warehouse (marts.customer_identity_map, ...)
PUBLISHED_ASSET_URI = "c360://published/snapshot"  # the read-only snapshot the console and BI tools read


# -- names and configuration --------------------------------------------------------------------------------


def ingest_dag_id(source: str) -> str:
    return f"ingest_{source}"


def raw_asset_uri(source: str) -> str:
    """The asset an ingestion DAG updates when it loaded new rows into raw_<source>."""
    return f"c360://raw/{source}"


def raw_asset(source: str) -> Asset:
    from airflow.sdk import Asset

    return Asset(name=f"raw_{source}", uri=raw_asset_uri(source), group=ASSET_GROUP)


def marts_asset() -> Asset:
    from airflow.sdk import Asset

    return Asset(name="customer360_marts", uri=MARTS_ASSET_URI, group=ASSET_GROUP)


def published_asset() -> Asset:
    from airflow.sdk import Asset

    return Asset(name="customer360_published", uri=PUBLISHED_ASSET_URI, group=ASSET_GROUP)


def dag_config() -> Config:
    """The project's customer360.yml for DAG parsing: $C360_CONFIG, else ./customer360.yml.

    Reading it is the only work done at parse time. A ConfigError here is the DAG file's import error, with
    the file, key and what to fix.
    """
    if CONFIG_ENV_VAR not in os.environ and not Path(DEFAULT_CONFIG).is_file():
        raise ConfigError(
            f"no customer360 project for the DAGs: set {CONFIG_ENV_VAR} to the project's {DEFAULT_CONFIG} "
            "in Airflow's environment (see docs/airflow.md)"
        )
    return load_config()


# -- run ids ------------------------------------------------------------------------------------------------


def pipeline_run_id(dag_id: str, airflow_run_id: str, moment: datetime) -> str:
    """The pipeline's run id for an Airflow DAG run, e.g. r20261123T130000Z-customer_360-5e1f.

    Deterministic: a retried or cleared task writes the same run's outputs again instead of starting another
    run. Sortable like the CLI's ids; the DAG id says where the run came from.
    """
    digest = hashlib.sha256(f"{dag_id}\n{airflow_run_id}".encode()).hexdigest()[:4]
    return f"r{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}-{dag_id}-{digest}"


def run_moment(context: Mapping[str, Any]) -> datetime:
    """The moment a DAG run stands for: its logical date or, for runs without one (asset-triggered), the time
    it was queued to run after. Never the wall clock, so a retry gets the same moment."""
    dag_run = context["dag_run"]
    moment = getattr(dag_run, "logical_date", None) or context.get("logical_date") or dag_run.run_after
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run_id_of(context: Mapping[str, Any]) -> str:
    """The pipeline run id of the Airflow DAG run a task belongs to."""
    dag_run = context["dag_run"]
    return pipeline_run_id(dag_run.dag_id, dag_run.run_id, run_moment(context))


def run_context(context: Mapping[str, Any], config: Config | None = None) -> RunContext:
    """A pipeline RunContext for the running task (configuration read in the worker's environment)."""
    from customer360.pipeline import RunContext

    return RunContext(config or load_config(), run_id_of(context), run_moment(context))


# -- stage helpers ------------------------------------------------------------------------------------------


def summarise(report: Any) -> Any:
    """A stage's report as JSON-able data (for XCom and the run summary)."""
    if callable(getattr(report, "summary", None)):
        data = report.summary()
    elif callable(getattr(report, "as_dict", None)):
        data = report.as_dict()
    elif is_dataclass(report) and not isinstance(report, type):
        data = asdict(report)
    else:
        data = {"result": str(report)}
    return json.loads(json.dumps(data, default=str))


def ingest_source(ctx: RunContext, source: str) -> dict[str, Any]:
    """pipeline.ingest for one source. Raises StageFailed when the source could not be read, so that Airflow
    retries it (what loaded before the failure is not loaded twice)."""
    from customer360 import pipeline

    report = pipeline.ingest(ctx, sources=[source])
    tables = [
        {
            "table": result.table,
            "status": result.status,
            "batches": len(result.batches),
            "rows_delivered": result.rows_delivered,
            "rows_loaded": result.rows_loaded,
            "rows_duplicate": result.rows_duplicate,
            "rows_rejected": result.rows_rejected,
            "rows_suppressed": result.rows_suppressed,
        }
        for result in report.results
    ]
    for table in tables:
        log.info(
            "%s.%s: %s; %s rows delivered, %s loaded, %s duplicate, %s rejected (quarantined), %s suppressed (erased)",
            source,
            table["table"],
            table["status"],
            table["rows_delivered"],
            table["rows_loaded"],
            table["rows_duplicate"],
            table["rows_rejected"],
            table["rows_suppressed"],
        )
    if report.failed_sources:
        errors = dict.fromkeys(message.text for message in report.messages if message.level == "error")
        raise StageFailed(f"source '{source}' could not be read: " + "; ".join(errors))
    return {
        "run_id": ctx.run_id,
        "source": source,
        "rows_loaded": report.rows_loaded,
        "rows_rejected": report.rows_rejected,
        "rows_suppressed": report.rows_suppressed,
        "tables": tables,
    }


def has_new_data(summary: Mapping[str, Any]) -> bool:
    """Did an ingestion run deliver anything (loaded or quarantined rows)? Only then is the asset updated."""
    return bool(summary.get("rows_loaded") or summary.get("rows_rejected"))


# -- dbt ----------------------------------------------------------------------------------------------------


def log_dbt_nodes(stage: str, result: DbtResult) -> None:
    """Every seed, model and test of a dbt task's one `dbt build`, with its status and time: the per-node view
    in the task log (one task per layer costs what `c360 run` costs; one task per node cost 13x)."""
    log.info("%s: %d dbt nodes\n%s", stage, result.nodes, result.node_lines())


# -- what the operator reads when something fails -----------------------------------------------------------

_STAGES: dict[str, tuple[str, str]] = {
    "ingest": (
        "ingestion",
        "Check that the source is reachable and its credentials (environment variables named in "
        "customer360.yml) are set; the message names the file, table or URL. Retries back off "
        "exponentially; once fixed, clear the task: what was already loaded is not loaded twice.",
    ),
    "raw": ("ingestion", "Clear the task to announce the loaded raw data again."),
    "quality_gate": (
        "quality gate",
        "Read the quality report and the quarantine tables for the failing rules. Fix the source data (or "
        "release rows quarantined by mistake) and clear the task; nothing was resolved or published.",
    ),
    "dbt_staging": (
        "dbt staging",
        "A dbt model or test upstream of resolution failed; the error names it. Reproduce it with "
        "`c360 dbt -- build --select <model>`, fix the SQL or the data, then clear the task.",
    ),
    "resolve": (
        "entity resolution",
        "Splink could not resolve the identity records: check the message and the model (`c360 train`), "
        "then clear the task; resolving the same run again replaces its own outputs.",
    ),
    "check_marts": (
        "mart quality check",
        "A key mart failed its Great Expectations suite (see the quality report): nothing was published, the "
        "last snapshot stays live. Fix the cause upstream (resolution, a mart model) and clear the task.",
    ),
    "dbt_marts": (
        "dbt marts",
        "A mart or one of its tests failed; the error names it. Reproduce it with "
        "`c360 dbt -- build --select <model>`, fix it, then clear the task.",
    ),
    "publish": (
        "publish",
        "The snapshot could not be written: check the message, free disk space and the permissions of the "
        "data folder, then clear the task.",
    ),
}


def stage_of(task_id: str) -> tuple[str, str]:
    """(stage, what to do) for a task id such as `resolve`, `dbt_marts` or `ingest`."""
    head = task_id.split(".", 1)[0]
    for prefix, stage in _STAGES.items():
        if head == prefix or head.startswith(prefix + "_"):
            return stage
    return head, "Read the error above, fix the cause and clear the task (every task is safe to re-run)."


def failure_message(context: Mapping[str, Any]) -> str:
    """A failure in plain words: which task and stage, the error's own message, what to do next."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    task_id = getattr(ti, "task_id", None) or "?"
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")
    stage, advice = stage_of(task_id)
    error = context.get("exception")
    what = str(error).strip() if error else "no error message (see the log above)"
    if error is not None and not isinstance(error, C360Error):
        what = f"{type(error).__name__}: {what}"
        advice = (
            "This is not one of the pipeline's own errors but a bug or a problem of the Airflow "
            "deployment (connections, files, permissions). The traceback above shows where it "
            "happened; fix it and clear the task."
        )
    if isinstance(error, QualityGateBlocked):
        advice += " Not retried: the same data would be blocked again."
    try_number, max_tries = getattr(ti, "try_number", None), getattr(ti, "max_tries", None)
    tries = f" after {try_number} of {max_tries + 1} tries" if try_number and max_tries is not None else ""
    try:
        pipeline_run = f", pipeline run {run_id_of(context)}"
    except Exception:  # noqa: BLE001 - a failure message must never fail itself
        pipeline_run = ""
    consequence = (
        "Nothing new was published: the console keeps serving the last published snapshot."
        if dag_id == CUSTOMER_360_DAG_ID
        else "The other silos are not affected."
    )
    return "\n".join(
        [
            f"customer360: task '{task_id}' of DAG '{dag_id}' failed{tries} (stage: {stage}; "
            f"Airflow run {getattr(dag_run, 'run_id', '?')}{pipeline_run}).",
            "What failed: " + textwrap.indent(what, "  ").lstrip(),
            f"What to do: {advice}",
            consequence,
        ]
    )


def on_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback of every task: log the failure in plain words (the task log shows it last)."""
    log.error("%s", failure_message(context))


# -- the run summary ----------------------------------------------------------------------------------------


def run_summary(config: Config, run_id: str, stages: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Rows, customers, merges and quarantined rows after a run, read from the warehouse (read-only)."""
    from customer360.core import warehouse

    def value(con: Any, sql: str, params: list[Any] | None = None) -> Any:
        try:
            row = con.execute(sql, params or []).fetchone()
        except Exception:  # noqa: BLE001 - a table another stage owns may not exist (yet)
            return None
        return row[0] if row else None

    def rows(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return con.execute(sql, params or []).fetchall()
        except Exception:  # noqa: BLE001
            return []

    summary: dict[str, Any] = {"run_id": run_id}
    with warehouse.session(config, read_only=True) as con:
        loaded = dict(rows(con, "select source_name, sum(rows_loaded) from meta.batches group by 1"))
        summary["raw_rows"] = {source.name: int(loaded.get(source.name) or 0) for source in config.sources}
        tables = rows(con, "select table_name from information_schema.tables where table_schema = 'quarantine'")
        summary["quarantined_rows"] = sum(
            value(con, f'select count(*) from quarantine."{name}" where _c360_released_at is null') or 0
            for (name,) in tables
        )
        summary["identity_records"] = value(con, "select count(*) from marts.customer_identity_map")
        summary["customers"] = value(con, "select count(distinct customer_id) from marts.customer_identity_map")
        summary["customers_with_several_records"] = value(
            con,
            "select count(*) from (select customer_id from marts.customer_identity_map "
            "group by customer_id having count(*) > 1)",
        )
        events = rows(
            con,
            "select event, count(*) from entity_resolution.customer_id_history where run_id = ? group by 1",
            [run_id],
        )
        summary["id_events_this_run"] = {event: int(count) for event, count in events}
    if summary["identity_records"] is not None and summary["customers"] is not None:
        summary["records_merged"] = summary["identity_records"] - summary["customers"]
    if stages:
        summary["stages"] = dict(stages)
    return summary


def format_summary(summary: Mapping[str, Any]) -> str:
    """The run summary as the lines a person reads at the end of the last task's log."""

    def number(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int) else "—"

    raw = summary.get("raw_rows") or {}
    events = summary.get("id_events_this_run") or {}
    per_source = ", ".join(f"{name} {number(count)}" for name, count in raw.items())
    event_text = ", ".join(f"{event} {count:,}" for event, count in sorted(events.items())) or "none"
    return "\n".join(
        [
            f"customer360 run {summary.get('run_id')}: summary",
            f"  rows in raw:       {number(sum(v or 0 for v in raw.values()))} ({per_source})",
            f"  quarantined rows:  {number(summary.get('quarantined_rows'))} (not released)",
            f"  identity records:  {number(summary.get('identity_records'))}",
            f"  customers:         {number(summary.get('customers'))} "
            f"({number(summary.get('customers_with_several_records'))} with 2+ records)",
            f"  merges:            {number(summary.get('records_merged'))} records joined another record's "
            f"customer; customer ID events this run: {event_text}",
        ]
    )
