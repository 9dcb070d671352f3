"""The pipeline's stages as plain functions: the CLI and the Airflow tasks both call these, nothing else.

    ingest → validate (quality gate) → staging (dbt) → resolve (Splink) → marts (dbt) → publish

Each stage takes a RunContext (configuration + run id + the run's start time) and returns a report with a
`summary()` dict. `run_pipeline` chains them, records the run in meta.runs, and maps outcomes to exit codes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from customer360.core import warehouse
from customer360.core.config import Config
from customer360.core.errors import (  # noqa: F401 - re-exported for the CLI and the DAGs
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    C360Error,
    ConfigurationMismatch,
    QualityGateBlocked,
    StageFailed,
    WarehouseBusy,
)
from customer360.core.runs import new_run_id
from customer360.core.writer import writer_lock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    config: Config
    run_id: str
    started_at: datetime

    @classmethod
    def new(cls, config: Config, run_id: str | None = None, started_at: datetime | None = None) -> RunContext:
        started = started_at or datetime.now(UTC)
        return cls(config, run_id or new_run_id(started), started)


# -- stages ------------------------------------------------------------------------------------------------------


@dataclass
class CheckReport:
    spec: str
    expressions: int  # configured SQL expressions bound against raw tables loaded so far

    def summary(self) -> dict[str, Any]:
        return {"spec": self.spec, "expressions_checked": self.expressions}


def check(ctx: RunContext) -> CheckReport:
    """Before anything is read: the model spec is found and valid, and every configured SQL expression binds against
    the raw tables loaded so far — a typo in a mapped column or a config copied to another folder fails here, in
    seconds, naming the key, not in dbt or the resolution minutes later (`c360 check` runs this alone)."""
    from customer360 import transform
    from entity_resolution.spec import SpecError, find_spec, load_spec

    config = ctx.config
    try:
        spec = load_spec(find_spec(config.resolution.spec, config.root))
    except SpecError as error:
        raise ConfigurationMismatch(f"{config.file}: resolution.spec: {error}") from None
    return CheckReport(spec.key, transform.check_expressions(config))


def ingest(
    ctx: RunContext, sources: list[str] | None = None, progress: bool = False, reload: list[str] | None = None
) -> Any:
    from customer360.core import marts_builds
    from customer360.ingest import ingest as run_ingest

    report = run_ingest(
        ctx.config, sources=sources, run_id=ctx.run_id, loaded_at=ctx.started_at, progress=progress, reload=reload
    )
    if report.rows_loaded or reload:  # a project's marts may read raw rows through views: the next build compares
        with warehouse.session(ctx.config) as con:
            marts_builds.mark_inputs_stale(con)
    return report


def validate(ctx: RunContext) -> Any:
    """Quality gate (Great Expectations): bad rows to quarantine; a broken batch is rejected and stops the run."""
    from expectations.runner import validate as run_gate

    report = run_gate(ctx.config, ctx.run_id, as_of=ctx.started_at)
    if report.blocked:
        raise QualityGateBlocked(report.message())
    return report


@dataclass
class StagingReport:
    """What staging held back and blanked, so that nothing it leaves out goes without a trace."""

    dbt: Any
    held: dict[str, int]  # identity rows quarantined now, by rule
    blanked: dict[str, int]  # identity values standardisation turned into NULL (current records), by field:rule
    dropped: dict[str, int]  # rows standardisation left out, by touchpoints:<stream>:<rule>

    def summary(self) -> dict[str, object]:
        return {
            "dbt": self.dbt.summary(),
            "held": self.held,
            "blanked": self.blanked,
            "dropped": self.dropped,
        }

    def render(self) -> str:
        parts = (
            ("identity rows held in quarantine at staging (c360 quarantine list)", self.held),
            ("identity values blanked by standardisation (field:rule)", self.blanked),
            ("rows left out by standardisation", self.dropped),
        )
        return "\n".join(
            f"{title}: " + ", ".join(f"{count:,} {rule}" for rule, count in sorted(counts.items()))
            for title, counts in parts
            if counts
        )


def hold_unusable_rows(ctx: RunContext) -> dict[str, int]:
    """Before dbt staging: the configured expressions bind, and identity rows no mapping can use are quarantined
    with their rule (returned: how many, by rule). The Airflow DAG calls this after its quality gate."""
    from customer360 import transform

    transform.check_expressions(ctx.config)
    return transform.quarantine_unusable_identity_rows(ctx.config, ctx.started_at)


def staging(ctx: RunContext) -> StagingReport:
    """dbt: seeds, staging views and intermediate tables: everything upstream of entity resolution."""
    from customer360 import transform
    from customer360.core import marts_builds

    held = hold_unusable_rows(ctx)
    with warehouse.session(ctx.config) as con:
        marts_builds.mark_inputs_stale(con)  # the next marts build compares what staging rebuilds
    result = transform.build(
        ctx.config,
        select="resource_type:seed staging intermediate",
        exclude="source:entity_resolution+",
        run_started_at=ctx.started_at,
    )
    return StagingReport(result, held, *transform.standardisation_losses(ctx.config))


def train(ctx: RunContext) -> Any:
    from entity_resolution.model import train as train_model
    from entity_resolution.spec import find_spec, load_spec

    config = ctx.config
    spec = load_spec(find_spec(config.resolution.spec, config.root))
    with warehouse.session(config) as con:
        return train_model(con, "staging.int_identity_records", spec, config.resolve_path(config.resolution.model_dir))


def resolve(ctx: RunContext, full: bool = False) -> Any:
    """Splink: score, cluster with guard rails, assign stable IDs. Trains first if no model exists yet."""
    from entity_resolution.model import ModelNotTrained, current_model
    from entity_resolution.resolve import SCOPE
    from entity_resolution.resolve import resolve as run_resolution
    from entity_resolution.spec import find_spec, load_spec

    config = ctx.config
    spec = load_spec(find_spec(config.resolution.spec, config.root))
    model_dir = config.resolve_path(config.resolution.model_dir)
    try:
        model = current_model(model_dir, spec)
    except ModelNotTrained:
        log.warning(
            "no trained model for %s yet: training one on the current records (retrain with `c360 train`)", spec.key
        )
        model = train(ctx)
    from entity_resolution.reports import write_charts

    reports = config.reports_dir / "resolution" / ctx.run_id
    with warehouse.session(config) as con:
        report = run_resolution(
            con,
            model,
            run_id=ctx.run_id,
            state_dir=config.state_dir,
            threshold=config.resolution.match_probability_threshold,
            cluster_size_cap=config.resolution.cluster_size_cap,
            full=full,
        )
        charts = write_charts(con, model, reports, scope_table=SCOPE if report.mode == "incremental" else None)
        report.charts = [str(path) for path in charts]
    (reports / "resolution.json").write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return report


@dataclass
class MartsReport:
    dbt: Any
    scope: Any  # marts_scope.MartsScope: full or incremental, and why

    @property
    def nodes(self) -> int:
        return int(self.dbt.nodes)

    def node_lines(self) -> str:
        return str(self.dbt.node_lines())

    def summary(self) -> dict[str, Any]:
        return {**self.dbt.summary(), **self.scope.summary()}


def prepare_marts(ctx: RunContext, full: bool = False) -> Any:
    """What the marts build reads besides the warehouse: the restrictions and objections in force
    (docs/privacy.md), copied into meta.privacy_requests; and whether the build writes every customer anew or
    only those a decision or request changed (customer360/marts_scope.py)."""
    from customer360 import marts_scope, privacy

    with warehouse.session(ctx.config) as con:
        warehouse.ensure_schemas(con, ctx.config)
        marts_scope.remember_privacy_requests(con)
        privacy.sync_requests(con, ctx.config)
        return marts_scope.plan(con, ctx.config, full=full)


def marts(ctx: RunContext, full: bool = False) -> MartsReport:
    """dbt: everything downstream of entity resolution (the marts and their staging of resolution outputs), for
    every customer or only for those in scope."""
    from customer360 import marts_scope, transform

    scope = prepare_marts(ctx, full)
    try:
        result = transform.build(
            ctx.config,
            select="source:entity_resolution+ marts",
            run_started_at=ctx.started_at,
            full_refresh=scope.full,
        )
    except Exception:
        with warehouse.session(ctx.config) as con:  # no scope left for a dbt build by hand; the next one is full
            marts_scope.forget(con)
        raise
    with warehouse.session(ctx.config) as con:
        marts_scope.settle(con, ctx.config, ctx.run_id, scope)
    return MartsReport(result, scope)


def check_marts(ctx: RunContext) -> Any:
    """Quality gate on the built marts (identity map, golden record, customer_360): a failure stops publishing."""
    from expectations.runner import validate_marts

    report = validate_marts(ctx.config, ctx.run_id, as_of=ctx.started_at)
    if report.blocked:
        raise QualityGateBlocked(report.message())
    return report


def publish(ctx: RunContext) -> Any:
    """Publish the marts as a read-only snapshot (+ Parquet) for readers; a failure keeps the last good one current."""
    from customer360.publish import publish as publish_marts

    return publish_marts(ctx.config, ctx.run_id)


# -- the whole chain -----------------------------------------------------------------------------------------------


@dataclass
class RunSummary:
    run_id: str
    status: str = "running"
    exit_code: int = EXIT_OK
    stages: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    message: str | None = None


Stage = tuple[str, Callable[[RunContext], Any]]
ALWAYS_RUN = {"retention", "inputs"}  # what a run with nothing new still does (time passes; the next run compares)
# what a stage imports that takes seconds (Great Expectations): imported while the stage before waits on dbt
PRELOAD = {"check_marts": "expectations.marts"}


def default_stages(full: bool = False, sources: list[str] | None = None, progress: bool = False) -> list[Stage]:
    return [
        ("check", check),
        ("ingest", lambda ctx: ingest(ctx, sources=sources, progress=progress)),
        ("validate", validate),
        ("changes", lambda ctx: changes(ctx, full=full)),
        ("staging", staging),
        ("resolve", lambda ctx: resolve(ctx, full=full)),
        ("marts", lambda ctx: marts(ctx, full=full)),
        ("check_marts", check_marts),
        ("publish", publish),
        ("retention", retention),
        ("inputs", inputs),
    ]


def changes(ctx: RunContext, full: bool = False) -> Any:
    """After the quality gate: did anything a build reads change since the last successful run? If not, the run
    skips to retention (customer360/changes.py)."""
    from customer360.changes import detect_changes

    return detect_changes(ctx.config, full=full)


def inputs(ctx: RunContext) -> Any:
    """The last stage: what the run leaves for the next one to compare with (customer360/changes.py)."""
    from customer360.changes import record_inputs

    return record_inputs(ctx.config)


def retention(ctx: RunContext) -> Any:
    """Delete what is older than customer360.yml's `retention:` periods (docs/privacy.md#retention)."""
    from customer360.retention import apply_retention

    return apply_retention(ctx.config, now=ctx.started_at)


def run_pipeline(ctx: RunContext, stages: list[Stage], command: str = "run") -> RunSummary:
    """Run stages in order, record the run in meta.runs; a failing stage stops the chain (later stages keep the
    last good outputs). An ingest with failed sources continues with what loaded and ends with EXIT_PARTIAL.

    The run holds the warehouse's writer lock from start to end: another writer is refused (WarehouseBusy, exit
    code 5) before anything is recorded. Every stage commits all of its effect or none, so a run killed at any
    point is recovered by the next plain run; its meta.runs row, left `running`, becomes `interrupted` then.
    """
    summary = RunSummary(run_id=ctx.run_id)
    try:
        with writer_lock(ctx.config.warehouse_path, f"c360 {command}", ctx.run_id):
            _run_stages(ctx, stages, summary, command)
    except WarehouseBusy as error:  # the lock was not ours: nothing ran, nothing is recorded
        summary.status, summary.exit_code, summary.message = "refused", error.exit_code, str(error)
    return summary


def _run_stages(ctx: RunContext, stages: list[Stage], summary: RunSummary, command: str) -> None:
    record_run(ctx, summary, command=command, mark_interrupted=True)
    skipping = False
    try:
        for index, (name, stage) in enumerate(stages):
            if skipping and name not in ALWAYS_RUN:
                continue
            log.info("stage %s", name)
            following = stages[index + 1][0] if index + 1 < len(stages) else ""
            if following in PRELOAD:
                _import_in_background(PRELOAD[following])
            started = time.perf_counter()
            report = stage(ctx)
            summary.seconds[name] = round(time.perf_counter() - started, 1)
            summary.stages[name] = report
            if getattr(report, "exit_code", EXIT_OK) == EXIT_PARTIAL:
                summary.exit_code = EXIT_PARTIAL
            skipping = skipping or bool(getattr(report, "nothing_new", False))
            record_run(ctx, summary, command=command)  # how far it got, should it be interrupted
        summary.status = "succeeded" if summary.exit_code == EXIT_OK else "partial"
    except C360Error as error:
        summary.status, summary.exit_code, summary.message = (
            "blocked" if isinstance(error, QualityGateBlocked) else "failed",
            error.exit_code,
            str(error),
        )
    except Exception as error:  # a defect: recorded as failed, then shown with its traceback
        summary.status, summary.exit_code, summary.message = "failed", EXIT_FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        record_run(ctx, summary, command=command)


def _import_in_background(module: str) -> None:
    """Import a module in a thread while this one waits on a child process, so that the next stage finds it
    imported. A failure here is left to the stage's own import, which reports it."""

    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module(module)

    threading.Thread(target=load, name=f"import {module}", daemon=True).start()


def apply_decisions(config: Config) -> RunSummary:
    """Bring the human decisions recorded since the last run into the published snapshot now: resolution
    re-clusters only the components whose decisions changed (with the stable-ID rules of every run), then the
    marts are rebuilt, checked and published. No ingestion, no quality gate: the next scheduled run starts from
    the same state and agrees. `c360 decisions apply`; the console starts it after every decision."""
    stages: list[Stage] = [
        ("resolve", resolve),
        ("marts", marts),
        ("check_marts", check_marts),
        ("publish", publish),
    ]
    return run_pipeline(RunContext.new(config), stages, command="decisions")


def erase(config: Config, subject: Any, reason: str, requested_by: str) -> RunSummary:
    """GDPR Art. 17 (docs/privacy.md): delete the subject's rows from raw and quarantine behind tombstones, rebuild
    staging, resolution and the marts without them, publish, then scrub every kept snapshot (with its Parquet,
    search index and serving store) and pseudonymise the audit log. One run, under the writer lock; should it
    fail part-way, erasing the same customer ID again finishes the job. The erasure's report (no clear identifiers) is
    logged in state/privacy.sqlite and written to <data_dir>/privacy/erasures/."""
    from customer360 import privacy
    from customer360.console.store import ConsoleStore, console_db_path
    from customer360.core import tombstones
    from customer360.publish import scrub_snapshots

    erasure_id = tombstones.new_erasure_id()
    erased: list[privacy.Erased] = []

    def remove(ctx: RunContext) -> privacy.ErasureReport:
        erased.append(privacy.erase_rows(ctx.config, subject, erasure_id))
        return erased[0].report

    def scrub(ctx: RunContext) -> privacy.ErasureReport:
        done = erased[0]
        report = done.report
        report.snapshots = scrub_snapshots(ctx.config, done.record_keys, done.customer_ids)
        if console_db_path(ctx.config.state_dir).exists():
            store = ConsoleStore.for_state_dir(ctx.config.state_dir)
            report.audit_entries = store.pseudonymise(done.customer_ids, done.record_keys, report.subject)
        privacy.log_erasure(ctx.config, report, reason, requested_by)
        return report

    stages: list[Stage] = [
        ("erase", remove),
        ("staging", staging),
        ("resolve", resolve),
        ("marts", marts),
        ("check_marts", check_marts),
        ("publish", publish),
        ("scrub", scrub),
    ]
    return run_pipeline(RunContext.new(config), stages, command="erase")


def record_run(ctx: RunContext, summary: RunSummary, command: str, mark_interrupted: bool = False) -> None:
    """One row per run in meta.runs (status, stage summaries): `c360 run` and the Airflow DAG both record theirs.

    `mark_interrupted`: the caller holds the writer lock for a whole run, so a run still `running` was killed."""
    with warehouse.session(ctx.config) as con:
        warehouse.ensure_schemas(con, ctx.config)
        if mark_interrupted:
            interrupted = con.execute(
                f"update {warehouse.META}.runs set status = 'interrupted' where status = 'running' returning run_id"
            ).fetchall()
            for (run_id,) in interrupted:
                log.warning("run %s was interrupted (killed or crashed); this run recovers its work", run_id)
        details = {name: _summary_of(report) for name, report in summary.stages.items()}
        con.execute(
            f"""
            insert or replace into {warehouse.META}.runs (run_id, command, started_at, finished_at, status, summary)
            values (?, ?, ?, case when ? = 'running' then null else now() end, ?, ?)
            """,
            [ctx.run_id, command, ctx.started_at, summary.status, summary.status, json.dumps(details, default=str)],
        )


def _summary_of(report: Any) -> Any:
    if hasattr(report, "summary"):
        return report.summary()
    if hasattr(report, "as_dict"):
        return report.as_dict()
    return str(report)
