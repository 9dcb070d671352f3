"""What the gate knows before it checks a batch: the ledger of pending batches, the raw table, a profile of each
batch (rows, filled values per column), and the table's accepted history (schema, fill rates, volumes) that
schema stability, missing columns and volume are judged against.

The history lives in `meta.batches.quality` (JSON, written by the gate for every batch it accepts), so no
extra table is needed and a rejected batch never becomes part of the reference.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from customer360.core import warehouse
from customer360.core.config import Config, TableConfig
from customer360.core.warehouse import BATCH_ID, META, quote_identifier
from expectations.settings import QualitySettings

PENDING_STATUSES = ("loaded", "empty")

Profile = tuple[int, dict[str, int]]  # rows, filled values per column


def q(name: str) -> str:
    return quote_identifier(name)


# -- the ledger ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingBatch:
    batch_id: str
    source: str
    table: str
    location: str
    status: str
    rows_rejected: int
    loaded_at: datetime
    message: str | None
    delivered_columns: str | None = None  # JSON: the columns the delivery itself had (None: not known)

    @property
    def columns(self) -> set[str] | None:
        return {name.lower() for name in json.loads(self.delivered_columns)} if self.delivered_columns else None


_BATCH_COLUMNS = (
    "batch_id, source_name, table_name, location, status, rows_rejected, loaded_at, message, delivered_columns"
)


def pending_batches(con: duckdb.DuckDBPyConnection) -> list[PendingBatch]:
    """Batches not validated yet, in load order."""
    statuses = ", ".join(f"'{s}'" for s in PENDING_STATUSES)
    rows = con.execute(
        f"select {_BATCH_COLUMNS} from {META}.batches where validated_at is null and status in ({statuses}) "
        "order by loaded_at, batch_id"
    ).fetchall()
    return [PendingBatch(*row) for row in rows]


def batch_by_id(con: duckdb.DuckDBPyConnection, batch_id: str) -> PendingBatch | None:
    row = con.execute(f"select {_BATCH_COLUMNS} from {META}.batches where batch_id = ?", [batch_id]).fetchone()
    return PendingBatch(*row) if row else None


def by_table(batches: Sequence[PendingBatch]) -> dict[tuple[str, str], list[PendingBatch]]:
    grouped: dict[tuple[str, str], list[PendingBatch]] = {}
    for batch in batches:
        grouped.setdefault((batch.source, batch.table), []).append(batch)
    return grouped


def previous_quality(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, Any]:
    row = con.execute(f"select quality from {META}.batches where batch_id = ?", [batch_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


# -- the raw table -------------------------------------------------------------------------------------------


@dataclass
class TableInfo:
    source: str
    table: str
    schema: str
    exists: bool
    columns: list[str]  # data columns of the raw table
    table_config: TableConfig | None

    @property
    def relation(self) -> str:
        return f"{q(self.schema)}.{q(self.table)}"


def table_info(con: duckdb.DuckDBPyConnection, config: Config, source: str, table: str) -> TableInfo:
    """The raw table of a source table, and its configuration (None for a raw table nobody configured: it is
    still gated, by the generic checks)."""
    table_config = None
    if source in {s.name for s in config.sources}:
        found = [t for t in config.source(source).tables if t.name == table]
        table_config = found[0] if found else None
    schema = f"raw_{source}"
    exists = warehouse.table_exists(con, schema, table)
    columns = [c for c in warehouse.table_columns(con, schema, table) if not c.startswith("_c360_")]
    return TableInfo(source, table, schema, exists, columns, table_config)


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, frozenset[str]]:
    """Every raw table's columns, "raw_<source>.<table>" → columns (reference checks read it)."""
    rows = con.execute(
        "select table_schema, table_name, list(column_name) from information_schema.columns "
        "where table_schema like 'raw\\_%' escape '\\' group by 1, 2"
    ).fetchall()
    return {f"{schema}.{table}": frozenset(columns) for schema, table, columns in rows}


def profile(con: duckdb.DuckDBPyConnection, info: TableInfo, batch_ids: Sequence[str]) -> dict[str, Profile]:
    """batch → (rows, filled values per column), one scan for all batches of the table."""
    if not info.exists or not batch_ids:
        return {}
    counts = ", ".join(f"count({q(c)})" for c in info.columns)
    placeholders = ", ".join("?" for _ in batch_ids)
    rows = con.execute(
        f"select {BATCH_ID}, count(*){', ' + counts if counts else ''} from {info.relation} "
        f"where {BATCH_ID} in ({placeholders}) group by 1",
        list(batch_ids),
    ).fetchall()
    return {row[0]: (int(row[1]), dict(zip(info.columns, map(int, row[2:]), strict=True))) for row in rows}


# -- the accepted history ------------------------------------------------------------------------------------


@dataclass
class History:
    """The accepted batches of a table before the ones being checked: schema, fill rates, volumes."""

    columns: tuple[str, ...] | None = None
    rows: list[int] = field(default_factory=list)  # newest first
    filled: list[dict[str, int]] = field(default_factory=list)

    def baseline(self, limit: int) -> Any:
        from expectations.kit import Baseline

        rows, filled = self.rows[:limit], self.filled[:limit]
        total = sum(rows)
        fill = {}
        if total:
            columns = {c for f in filled for c in f}
            fill = {c: sum(f.get(c, 0) for f in filled) / total for c in columns}
        non_empty = [r for r in rows if r > 0]
        return Baseline(
            columns=self.columns,
            fill=fill,
            reference_rows=float(statistics.median(non_empty)) if non_empty else None,
            batches=len(rows),
        )

    def accept(self, columns: Sequence[str], rows: int, filled: dict[str, int]) -> None:
        self.columns = tuple(sorted(set(self.columns or ()) | set(columns)))
        self.rows.insert(0, rows)
        self.filled.insert(0, filled)


def table_history(
    con: duckdb.DuckDBPyConnection, source: str, table: str, limit: int, before: PendingBatch | None = None
) -> History:
    """The newest `limit` accepted batches of a table (before `before`, when re-checking a rejected batch)."""
    where = ""
    params: list[Any] = [source, table]
    if before is not None:
        where = " and batch_id <> ? and (loaded_at, batch_id) < (?, ?)"
        params += [before.batch_id, before.loaded_at, before.batch_id]
    rows = con.execute(
        f"select quality from {META}.batches where source_name = ? and table_name = ? "
        f"and validated_at is not null and status not in ('rejected', 'superseded') and quality is not null{where} "
        "order by loaded_at desc, batch_id desc limit ?",
        [*params, limit],
    ).fetchall()
    history = History()
    for (text,) in rows:
        record = json.loads(text)
        if history.columns is None and record.get("columns") is not None:
            history.columns = tuple(record["columns"])
        history.rows.append(int(record.get("rows", 0)))
        history.filled.append({k: int(v) for k, v in (record.get("filled") or {}).items()})
    return history


def delivered_columns(
    info: TableInfo,
    profile: Profile,
    history: History,
    pending: Sequence[Profile],
    settings: QualitySettings,
    declared: set[str] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """(columns the batch delivered, baseline columns it misses, new columns with values).

    `declared`: the columns the delivery itself had (lower case), where ingestion recorded them: a column in it is
    delivered however empty, one not in it is missing. Otherwise — a raw table holds the union of every delivery's
    columns — an empty column may mean "not delivered" or "nothing to say": it counts as not delivered when the
    chance of it being empty by accident, given how often it is filled elsewhere, is below `missing_column_chance`.
    """
    rows, filled = profile
    baseline = history.baseline(settings.history_batches)
    threshold = math.log(settings.missing_column_chance)

    def fill_rate(column: str) -> float | None:
        if column in baseline.fill and baseline.batches:
            return baseline.fill[column]
        present = [(n, f.get(column, 0)) for n, f in pending if f.get(column, 0) > 0]
        total = sum(n for n, _ in present)
        return sum(v for _, v in present) / total if total else None

    def absent(column: str) -> bool:
        if filled.get(column, 0) > 0 or rows == 0:
            return False
        if declared is not None:
            return column.lower() not in declared
        p = fill_rate(column)
        if not p or p < settings.missing_column_min_fill:
            return False
        return p >= 1 or rows * math.log(1 - p) < threshold

    known = set(baseline.columns) if baseline.columns is not None else None
    delivered, missing, new = [], [], []
    for column in info.columns:
        if absent(column):
            if known is not None and column in known:
                missing.append(column)
            continue
        if known is not None and column not in known:
            if filled.get(column, 0) > 0:
                new.append(column)
                delivered.append(column)
            continue  # an empty column the baseline does not know: ignored
        delivered.append(column)
    if known is not None:
        missing += [c for c in sorted(known) if c not in info.columns]
    return delivered, missing, new
