"""What the Airflow DAGs in dags/ share: names (pool, assets), run ids, the Cosmos task groups, failure
messages and the run summary. No pipeline logic lives here: every task calls a stage of customer360.pipeline,
the same functions the CLI calls.

Importing this module is cheap (it reads configuration only): the DAG processor imports it on every parse.
Airflow, Cosmos, DuckDB and the pipeline are imported inside the functions that need them.

    python -m customer360.orchestration manifest   # `make dbt-manifest`: dbt parse into manifest_path(config)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.core.config import CONFIG_ENV_VAR, DEFAULT_CONFIG, Config, ConfigError, load_config
from customer360.core.errors import EXIT_USAGE, C360Error, QualityGateBlocked, StageFailed
from customer360.core.product import DBT_PROJECT_DIR
from customer360.transform import dbt_environment, dbt_project_path, dbt_vars

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from customer360.pipeline import RunContext

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

DBT_PROFILE = "customer360"
DBT_TARGET = "duckdb"
PROFILES_YML = DBT_PROJECT_DIR / "profiles.yml"


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


# -- dbt through Cosmos -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbtSelection:
    """Which dbt nodes a Cosmos task group renders, written for Cosmos's manifest selector.

    `cli_select`/`cli_exclude` are the selection pipeline.staging/marts pass to `dbt build`. Cosmos cannot
    take it verbatim: it has no `source:<source name>` method nor bare folder names, and it applies `exclude`
    only within the selected nodes (dbt excludes over the whole graph: a model in intermediate/ that reads a
    mart, which reads entity resolution, is excluded by dbt but would not be by Cosmos). So the staging group
    selects everything and excludes what is downstream of entity resolution. tests/test_airflow_dags.py checks
    with `dbt ls` that both spellings select the same models and seeds.
    """

    cli_select: str
    cli_exclude: str | None
    select: tuple[str, ...]
    exclude: tuple[str, ...] = ()


# upstream of entity resolution: seeds, staging views, intermediate tables (pipeline.staging)
DBT_STAGING = DbtSelection(
    cli_select="resource_type:seed staging intermediate",
    cli_exclude="source:entity_resolution+",
    select=(),
    exclude=("path:models/staging/entity_resolution+", "path:models/marts+"),
)
# downstream of entity resolution: its staging views and the marts (pipeline.marts)
DBT_MARTS = DbtSelection(
    cli_select="source:entity_resolution+ marts",
    cli_exclude=None,
    select=("path:models/staging/entity_resolution+", "path:models/marts"),
)


def manifest_path(config: Config) -> Path:
    """Where `make dbt-manifest` writes the manifest Cosmos renders the dbt task groups from."""
    return config.data_path / "dbt_manifest" / "manifest.json"


def build_manifest(config: Config) -> Path:
    """`dbt parse` with the project's profile, env and vars (customer360.transform.run_dbt)."""
    from customer360.transform import run_dbt

    target = manifest_path(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    run_dbt(config, ["parse", "--target-path", str(target.parent)])
    if not target.is_file():
        raise StageFailed(f"dbt parse ran but wrote no manifest at {target}")
    return target


def stale_manifest(config: Config) -> list[Path]:
    """dbt project files changed after the manifest was built (the DAG renders the old project until
    `make dbt-manifest` runs again)."""
    manifest = manifest_path(config)
    if not manifest.is_file():
        return []
    built = manifest.stat().st_mtime
    files = [DBT_PROJECT_DIR / "dbt_project.yml", config.file]
    for folder in dbt_folders(config):
        files += [path for path in folder.rglob("*") if path.is_file()]
    return sorted(path for path in files if path.is_file() and path.stat().st_mtime > built)


def dbt_folders(config: Config) -> list[Path]:
    """The dbt folders a run builds from: the product's and the project's own (customer360.yml `dbt:`)."""
    folders = [DBT_PROJECT_DIR / folder for folder in ("models", "seeds", "tests", "macros")]
    return folders + [
        config.resolve_path(value) for value in (config.dbt.models, config.dbt.macros, config.dbt.tests) if value
    ]


def warn_if_manifest_stale(config: Config) -> None:
    changed = stale_manifest(config)
    if changed:
        shown = ", ".join(path.name for path in changed[:5])
        log.warning(
            "the dbt manifest %s is older than %d dbt or configuration file(s) (%s%s): the dbt tasks of this run "
            "follow the project as it was when the manifest was built. Run `make dbt-manifest` (python -m "
            "customer360.orchestration manifest) so that Airflow builds what `c360 run` builds.",
            manifest_path(config),
            len(changed),
            shown,
            ", ..." if len(changed) > 5 else "",
        )


def dbt_executable() -> Path:
    """The dbt of the environment Airflow runs in (the project's venv, or the image's)."""
    return Path(sys.executable).parent / "dbt"


def cosmos_environment(config: Config) -> dict[str, str]:
    """customer360.transform.dbt_environment minus DBT_TARGET_PATH: Cosmos runs dbt in a temporary copy of
    the project and reads compiled SQL (shown in the UI) and run results from that copy's target folder."""
    return {key: value for key, value in dbt_environment(config).items() if key != "DBT_TARGET_PATH"}


def dbt_task_group(config: Config, group_id: str, selection: DbtSelection, **kwargs: Any) -> Any:
    """A Cosmos DbtTaskGroup: a task per dbt seed and model, a task for each model's tests, and one for each
    test of several models. Rendered from the pre-built manifest (no dbt at parse time); every task runs the
    venv's dbt in a child process (ExecutionMode.LOCAL) with the CLI's profile, environment and vars."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (
        ExecutionMode,
        InvocationMode,
        LoadMode,
        SourceRenderingBehavior,
        TestBehavior,
        TestIndirectSelection,
    )

    manifest = manifest_path(config)
    if not manifest.is_file():
        raise FileNotFoundError(
            f"dbt manifest not found at {manifest}: run `make dbt-manifest` (python -m "
            "customer360.orchestration manifest) once, and again after changing dbt_project/"
        )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=dbt_project_path(config),
            manifest_path=manifest,
            project_name=DBT_PROFILE,
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name=DBT_PROFILE, target_name=DBT_TARGET, profiles_yml_filepath=PROFILES_YML
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            # a child process per dbt command: dbt-duckdb keeps the warehouse open in the process that ran it
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(dbt_executable()),
            # a model's test task runs only the tests of that model alone; tests of several models run in
            # their own tasks (below), even when the manifest is older than a newly added test
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=list(selection.select),
            exclude=list(selection.exclude),
            # a model's tests run in a task after it; a test of several models (relationships) runs in a
            # task of its own once all of them are built, as in `dbt build`
            test_behavior=TestBehavior.AFTER_EACH,
            should_detach_multiple_parents_tests=True,
            source_rendering_behavior=SourceRenderingBehavior.WITH_TESTS_OR_FRESHNESS,
            emit_datasets=False,
        ),
        operator_args={
            "vars": dbt_vars(config),
            "env": cosmos_environment(config),
            "append_env": True,
            "install_deps": False,
        },
        **kwargs,
    )


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
        "A dbt model or test upstream of resolution failed; dbt's output above names it. Reproduce it with "
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
        "A mart or one of its tests failed; dbt's output above names it. Reproduce it with "
        "`c360 dbt -- build --select <model>`, fix it, then clear the task.",
    ),
    "publish": (
        "publish",
        "The snapshot could not be written: check the message, free disk space and the permissions of the "
        "data folder, then clear the task.",
    ),
}


def stage_of(task_id: str) -> tuple[str, str]:
    """(stage, what to do) for a task id such as `resolve` or `dbt_marts.customer_ids.test`."""
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
        if not task_id.startswith("dbt_"):  # Cosmos raises AirflowException for dbt failures
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


# -- command line -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`python -m customer360.orchestration manifest`: build the dbt manifest the DAGs render dbt from."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] != ["manifest"]:
        sys.stderr.write("usage: python -m customer360.orchestration manifest\n")
        return EXIT_USAGE
    try:
        path = build_manifest(dag_config())
    except ConfigError as error:
        sys.stderr.write(f"configuration error: {error}\n")
        return EXIT_USAGE
    except C360Error as error:
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code
    sys.stdout.write(f"dbt manifest: {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
