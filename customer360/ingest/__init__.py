"""Ingestion: every configured source into `raw_<source>.<table>`, with load metadata, incrementally.

    from customer360.ingest import ingest
    report = ingest(config, run_id=run_id, loaded_at=now)
    report.exit_code  # 0 ok, 3 some sources failed (the others were loaded), 1 all failed

Each source is read independently: one that cannot be read is reported (with what to do) and the others still
load. Every delivery is recorded in `meta.batches`; unparseable input goes to `quarantine.<source>__<table>`.
Re-running with no new data adds nothing. Contract: docs/architecture.md; connectors: files.py, database.py,
rest.py; the shared append/quarantine/ledger logic: loader.py.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from customer360.core import tombstones
from customer360.core.config import Config, ConfigError, SourceConfig, TableConfig
from customer360.core.warehouse import ensure_schemas, session
from customer360.ingest.loader import (
    ITEMS,
    RECORDS,
    REJECTS,
    STAGE,
    STAGE_VIEW,
    ProgressHandle,
    SourceError,
    TableContext,
    drop_temp,
    first_line,
    normalise_name,
    record_failure,
    supersede_earlier,
)
from customer360.ingest.report import FAILED, IngestReport, Message, TableResult

__all__ = ["IngestReport", "Message", "SourceError", "TableResult", "ingest", "normalise_name", "plan"]

log = logging.getLogger("customer360.ingest")
_TMP_PREFIX = "c360-ingest-"  # transcoded copies and CSV remainders, beside the warehouse


def plan(
    config: Config, sources: list[str] | None = None, tables: list[str] | None = None
) -> list[tuple[SourceConfig, list[TableConfig]]]:
    """The (source, tables) to read; `tables` holds `table` or `source.table` names (unknown: ConfigError)."""
    chosen = [config.source(name) for name in sources] if sources else list(config.sources)
    if not tables:
        return [(source, list(source.tables)) for source in chosen]
    wanted = set(tables)
    selected: list[tuple[SourceConfig, list[TableConfig]]] = []
    matched: set[str] = set()
    for source in chosen:
        picked = [t for t in source.tables if t.name in wanted or f"{source.name}.{t.name}" in wanted]
        matched |= {t.name for t in picked} | {f"{source.name}.{t.name}" for t in picked}
        if picked:
            selected.append((source, picked))
    unknown = sorted(wanted - matched)
    if unknown:
        known = [f"{s.name}.{t.name}" for s in chosen for t in s.tables]
        raise ConfigError(f"{config.file}: no table named {', '.join(unknown)} (tables: {', '.join(known)})")
    return selected


def ingest(
    config: Config,
    sources: list[str] | None = None,
    tables: list[str] | None = None,
    *,
    run_id: str | None = None,
    loaded_at: datetime | None = None,
    progress: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    reload: list[str] | None = None,
) -> IngestReport:
    """Load the selected sources (default: all) into their raw schemas; never raises for a source's problem.

    Raises ConfigError for unknown source or table names. `con`: an open warehouse connection (not inside a
    transaction: every batch is committed on its own) to use instead of opening and closing one. `reload`:
    `source.table` names to read again whole (files already loaded, rows already in raw, from the first cursor
    value); what they deliver supersedes their earlier batches (e.g. after a fix of the table's configuration).
    """
    selected = plan(config, sources, tables)
    reloaded = _reload_labels(config, selected, reload or [])
    run_id = run_id or f"ingest-{uuid.uuid4().hex[:12]}"
    loaded_at = _utc(loaded_at or datetime.now(UTC))
    report = IngestReport(run_id=run_id, loaded_at=loaded_at)
    with ExitStack() as stack:
        connection = con if con is not None else stack.enter_context(session(config))
        bar = stack.enter_context(_progress()) if progress else None
        config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in config.warehouse_path.parent.glob(f"{_TMP_PREFIX}*"):  # of a killed ingest (we write alone)
            shutil.rmtree(leftover, ignore_errors=True)
        tmpdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=_TMP_PREFIX, dir=config.warehouse_path.parent))
        )
        ensure_schemas(connection, config)
        tombstone_key = tombstones.load_into(connection, config.state_dir)  # erased people: suppressed below
        for source, table_configs in selected:
            contexts = [
                TableContext(
                    con=connection,
                    config=config,
                    source=source,
                    table=table,
                    run_id=run_id,
                    loaded_at=loaded_at,
                    result=TableResult(source.name, table.name, source.connector),
                    tmpdir=tmpdir,
                    progress=ProgressHandle(bar, f"{source.name}.{table.name}"),
                    reload=f"{source.name}.{table.name}" in reloaded,
                    tombstone_key=tombstone_key,
                )
                for table in table_configs
            ]
            report.results.extend(ctx.result for ctx in contexts)
            _run_source(source, contexts)
            for ctx in contexts:
                if ctx.reload and (ctx.source.connector == "files" or ctx.result.status != FAILED):
                    superseded = supersede_earlier(ctx)
                    ctx.result.info(f"{ctx.label}: read again; {superseded} earlier batch(es) superseded")
    return report


def _reload_labels(
    config: Config, selected: list[tuple[SourceConfig, list[TableConfig]]], names: list[str]
) -> set[str]:
    """`source.table` of the tables to reload; each must be named in full and be among those read."""
    read = {f"{source.name}.{table.name}" for source, tables in selected for table in tables}
    known = [f"{source.name}.{table.name}" for source in config.sources for table in source.tables]
    for name in names:
        if name not in known:
            raise ConfigError(f"{config.file}: --reload: no table named {name} (tables: {', '.join(known)})")
        if name not in read:
            raise ConfigError(f"--reload {name}: its source is not among the sources read (--source)")
    return set(names)


def _run_source(source: SourceConfig, contexts: list[TableContext]) -> None:
    try:
        if source.connector == "files":
            from customer360.ingest import files

            for ctx in contexts:
                _guarded(ctx, lambda c=ctx: files.load_table(c))
        elif source.connector in ("sqlite", "postgres"):
            from customer360.ingest import database

            with database.attached(contexts[0]) as alias:
                for ctx in contexts:
                    _guarded(ctx, lambda c=ctx: database.load_table(c, alias))
        else:
            from customer360.ingest import rest

            with rest.client(source) as http:
                for ctx in contexts:
                    _guarded(ctx, lambda c=ctx: rest.load_table(c, http))
    except SourceError as problem:  # the source as a whole could not be opened
        for ctx in contexts:
            if ctx.result.status != FAILED:
                _fail(ctx, str(problem))
    except Exception as error:  # noqa: BLE001 - a bug must not stop the other sources
        log.exception("ingestion of source %s failed", source.name)
        for ctx in contexts:
            if ctx.result.status != FAILED:
                _fail(
                    ctx,
                    f"source '{source.name}': unexpected error {type(error).__name__}: {first_line(error)}",
                )


def _guarded(ctx: TableContext, load) -> None:
    try:
        load()
    except SourceError as problem:
        _fail(ctx, str(problem))
    except duckdb.Error as error:
        _fail(ctx, f"{ctx.label}: {first_line(error)}")
    except Exception as error:  # noqa: BLE001
        log.exception("ingestion of %s failed", ctx.label)
        _fail(
            ctx,
            f"{ctx.label}: unexpected error {type(error).__name__}: {first_line(error)} "
            "(the log has the details; please report it)",
        )
    finally:
        ctx.progress.done()
        drop_temp(ctx.con, STAGE_VIEW, STAGE, REJECTS, RECORDS, ITEMS)


def _fail(ctx: TableContext, message: str) -> None:
    """Report a table as failed and, for databases and APIs, record the failed read in meta.batches (files
    record each failed file themselves)."""
    ctx.result.fail(message)
    if ctx.source.connector == "files":
        return
    if ctx.source.connector == "rest":
        from customer360.ingest.rest import endpoint_url

        location = f"GET {endpoint_url(ctx.source, ctx.table.endpoint or '')}"
    else:
        from customer360.ingest.database import table_location

        location = table_location(ctx)
    record_failure(ctx, ctx.new_batch_id(), location, message)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@contextmanager
def _progress() -> Iterator[object]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        yield bar
