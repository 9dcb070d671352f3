"""Retention (docs/privacy.md#retention): nothing personal is kept longer than customer360.yml's `retention:` says.

Applied at the end of every run (`c360 run`, the Airflow DAG's publish task), set-based, each part only when its
period is configured:

- raw rows that a later delivery of the same record replaced (the latest valid version of every record stays:
  the marts are built from it), and the rows of deliveries the quality gate rejected or a reload superseded;
- quarantine entries, with the raw rows they still hold back;
- published snapshots other than the current one, with their Parquet and sidecars;
- the console's audit log, reports, and access exports (files).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from customer360.console.store import ConsoleStore, console_db_path
from customer360.core import warehouse
from customer360.core.config import Config, SourceConfig, TableConfig
from customer360.publish import prune_published_before

_DEAD_BATCHES = f"select batch_id from {warehouse.META}.batches where status in ('rejected', 'superseded')"


@dataclass
class RetentionReport:
    raw_rows: dict[str, int] = field(default_factory=dict)  # <source>.<table> → rows deleted
    quarantine_entries: int = 0
    snapshots: list[str] = field(default_factory=list)  # run ids deleted
    audit_entries: int = 0
    files: int = 0  # reports and access exports

    def summary(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def deleted(self) -> bool:
        return any((self.raw_rows, self.quarantine_entries, self.snapshots, self.audit_entries, self.files))

    def render(self) -> str:
        raw = sum(self.raw_rows.values())
        return (
            f"{raw:,} raw row(s), {self.quarantine_entries:,} quarantine entr(ies),"
            f" {len(self.snapshots)} snapshot(s), {self.audit_entries:,} audit entr(ies), {self.files:,} file(s) past"
            " their retention period deleted"
        )


def apply_retention(config: Config, now: datetime | None = None) -> RetentionReport:
    now = now or datetime.now(UTC)
    periods = config.retention
    report = RetentionReport()

    def cutoff(days: int) -> datetime:
        return now - timedelta(days=days)

    if periods.replaced_raw_days or periods.quarantine_days:
        with warehouse.session(config) as con:
            for source in config.sources:
                for table in source.tables:
                    if not warehouse.table_exists(con, source.raw_schema, table.name):
                        continue
                    deleted = 0
                    if periods.quarantine_days:
                        entries, held = _expire_quarantine(con, source, table, cutoff(periods.quarantine_days))
                        report.quarantine_entries += entries
                        deleted += held
                    if periods.replaced_raw_days:
                        deleted += _expire_replaced(con, source, table, cutoff(periods.replaced_raw_days))
                    if deleted:
                        report.raw_rows[f"{source.name}.{table.name}"] = deleted
    if periods.snapshot_days:
        report.snapshots = prune_published_before(config, cutoff(periods.snapshot_days))
    if periods.audit_days and console_db_path(config.state_dir).exists():
        store = ConsoleStore.for_state_dir(config.state_dir)
        report.audit_entries = store.forget_audit_before(cutoff(periods.audit_days).isoformat())
    if periods.report_days:
        report.files += _delete_files_before(config.reports_dir, cutoff(periods.report_days))
    if periods.export_days:
        report.files += _delete_files_before(config.data_path / "privacy" / "exports", cutoff(periods.export_days))
    return report


def _held(source: SourceConfig, table: TableConfig) -> str:
    return f"{warehouse.QUARANTINE}.{warehouse.quote_identifier(f'{source.name}__{table.name}')}"


def _expire_quarantine(
    con: duckdb.DuckDBPyConnection, source: SourceConfig, table: TableConfig, before: datetime
) -> tuple[int, int]:
    """Delete quarantine entries older than `before`, and the raw rows still held back by them. Returns (entries,
    raw rows) deleted."""
    if not warehouse.table_exists(con, warehouse.QUARANTINE, f"{source.name}__{table.name}"):
        return 0, 0
    raw = f"{source.raw_schema}.{warehouse.quote_identifier(table.name)}"
    held = _held(source, table)
    rows = con.execute(
        f"""
        delete from {raw} where ({warehouse.BATCH_ID}, {warehouse.ROW_NUMBER}) in (
            select _c360_batch_id, _c360_row_number from {held}
            where _c360_quarantined_at < $before and _c360_released_at is null
        )
        """,
        {"before": before},
    ).fetchall()[0][0]
    entries = con.execute(f"delete from {held} where _c360_quarantined_at < $before", {"before": before}).fetchall()
    return int(entries[0][0]), int(rows)


def _expire_replaced(con: duckdb.DuckDBPyConnection, source: SourceConfig, table: TableConfig, before: datetime) -> int:
    """Delete raw rows loaded before `before` that no build reads any more: rows of rejected or superseded
    deliveries, and (with a primary key) versions of a record that a later valid version replaced."""
    raw = f"{source.raw_schema}.{warehouse.quote_identifier(table.name)}"
    replaced = ""
    if table.primary_key:
        key = ", ".join(warehouse.quote_identifier(column) for column in table.primary_key)
        held = ""
        if warehouse.table_exists(con, warehouse.QUARANTINE, f"{source.name}__{table.name}"):
            held = (
                f" and ({warehouse.BATCH_ID}, {warehouse.ROW_NUMBER}) not in (select _c360_batch_id, _c360_row_number"
                f" from {_held(source, table)} where _c360_released_at is null)"
            )
        replaced = f"""
            or ({warehouse.BATCH_ID}, {warehouse.ROW_NUMBER}) in (
                select {warehouse.BATCH_ID}, {warehouse.ROW_NUMBER} from {raw}
                where {warehouse.BATCH_ID} not in ({_DEAD_BATCHES}){held}
                qualify row_number() over (
                    partition by {key}
                    order by {warehouse.LOADED_AT} desc, {warehouse.BATCH_ID} desc, {warehouse.ROW_NUMBER} desc
                ) > 1
            )"""
    deleted = con.execute(
        f"delete from {raw} where {warehouse.LOADED_AT} < $before"
        f" and ({warehouse.BATCH_ID} in ({_DEAD_BATCHES}){replaced})",
        {"before": before},
    ).fetchall()
    return int(deleted[0][0])


def _delete_files_before(folder: Path, before: datetime) -> int:
    """Delete the files under `folder` last changed before `before` (and the folders that become empty)."""
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_symlink() or path.is_file():
            if datetime.fromtimestamp(path.lstat().st_mtime, UTC) < before:
                path.unlink()
                deleted += 1
        elif path.is_dir() and not any(path.iterdir()):
            shutil.rmtree(path)
    return deleted
