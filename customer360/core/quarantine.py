"""Quarantine: rows that could not be parsed (stage `ingest`) or failed a row-level expectation (`quality`).

One table per raw table, `quarantine.<source>__<table>` (contract: docs/architecture.md). A quarantined row
keeps its identity `(_c360_batch_id, _c360_row_number)`, so staging can leave it out and a fixed row can be
released (`_c360_released_at`). Rows are written set-based: callers hand over a SELECT yielding the columns.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from customer360.core.warehouse import BATCH_ID, QUARANTINE, ROW_NUMBER, SOURCE_LOCATION, quote_identifier, table_exists

STAGE = "_c360_stage"  # ingest | quality | staging
RULE = "_c360_rule"  # e.g. parse_error, not_an_object, or the expectation's name
REASON = "_c360_reason"  # a sentence a person understands, naming file/URL and line/page
RECORD = "_c360_record"  # the row as delivered, as JSON; for unparseable input the raw text
QUARANTINED_AT = "_c360_quarantined_at"
RELEASED_AT = "_c360_released_at"

STAGE_INGEST = "ingest"
STAGE_QUALITY = "quality"
STAGE_STAGING = "staging"  # a valid row the configuration cannot use (an identity row without its id)

# What a SELECT handed to `insert` must yield (stage and timestamps are added here).
ROW_COLUMNS = (BATCH_ID, ROW_NUMBER, SOURCE_LOCATION, RULE, REASON, RECORD)

COLUMNS = (BATCH_ID, ROW_NUMBER, SOURCE_LOCATION, STAGE, RULE, REASON, RECORD, QUARANTINED_AT, RELEASED_AT)

_DDL = """
create table if not exists {table} (
    _c360_batch_id varchar not null,
    _c360_row_number bigint not null,
    _c360_source varchar,
    _c360_stage varchar not null,
    _c360_rule varchar not null,
    _c360_reason varchar not null,
    _c360_record varchar,
    _c360_quarantined_at timestamptz not null,
    _c360_released_at timestamptz
)
"""


def table_name(source: str, table: str) -> str:
    """`<source>__<table>`: the quarantine table of raw_<source>.<table> (unqualified)."""
    return f"{source}__{table}"


def qualified_name(source: str, table: str) -> str:
    return f"{QUARANTINE}.{quote_identifier(table_name(source, table))}"


def ensure_table(con: duckdb.DuckDBPyConnection, source: str, table: str) -> str:
    """Create `quarantine.<source>__<table>` if needed (idempotent); returns its qualified name."""
    name = qualified_name(source, table)
    con.execute(f"create schema if not exists {QUARANTINE}")
    con.execute(_DDL.format(table=name))
    return name


def insert(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    select_sql: str,
    params: list[object] | dict[str, object] | None = None,
    *,
    stage: str,
    quarantined_at: datetime,
) -> int:
    """Quarantine the rows a SELECT yields (columns named as in ROW_COLUMNS); returns how many were written.

    `_c360_record` may be any type: it is stored as text (JSON for rows, the raw text for unparseable input).
    """
    if stage not in (STAGE_INGEST, STAGE_QUALITY, STAGE_STAGING):
        raise ValueError(f"quarantine stage must be one of {STAGE_INGEST}, {STAGE_QUALITY}, {STAGE_STAGING}: {stage!r}")
    name = ensure_table(con, source, table)
    columns = ", ".join(ROW_COLUMNS)
    row = con.execute(
        f"insert into {name} ({columns}, {STAGE}, {QUARANTINED_AT}) "
        f"select {BATCH_ID}, {ROW_NUMBER}, {SOURCE_LOCATION}, {RULE}, {REASON}, cast({RECORD} as varchar), "
        f"'{stage}', '{quarantined_at.isoformat()}'::timestamptz from ({select_sql}) as q",
        params or [],
    ).fetchone()
    return int(row[0]) if row else 0


def count(con: duckdb.DuckDBPyConnection, source: str, table: str, *, include_released: bool = False) -> int:
    """Rows currently in quarantine for one raw table (0 when the table does not exist yet)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [QUARANTINE, table_name(source, table)],
    ).fetchone()
    if not (exists and exists[0]):
        return 0
    where = "" if include_released else f" where {RELEASED_AT} is null"
    row = con.execute(f"select count(*) from {qualified_name(source, table)}{where}").fetchone()
    return int(row[0]) if row else 0


# -- reading and releasing (the quality gate and `c360 quarantine ...`) -----------------------------------


def parse_table(name: str) -> tuple[str, str]:
    """`source.table`, `source__table` or `quarantine.source__table` → (source, table)."""
    text = name.strip().removeprefix(f"{QUARANTINE}.").strip('"')
    for separator in (".", "__"):
        if separator in text:
            source, _, table = text.partition(separator)
            if source and table:
                return source, table
    raise ValueError(f"{name!r}: name a table as <source>.<table>, e.g. marketing.contacts")


def tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(source, table) of every quarantine table, sorted."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1", [QUARANTINE]
    ).fetchall()
    return [parse_table(row[0]) for row in rows if "__" in row[0]]


def overview(con: duckdb.DuckDBPyConnection) -> list[dict[str, object]]:
    """Per table, stage and rule: rows held (not released), released, batches concerned, latest reason."""
    result: list[dict[str, object]] = []
    for source, table in tables(con):
        for stage, rule, held, released, batches, example in con.execute(
            f"select {STAGE}, {RULE}, count(*) filter (where {RELEASED_AT} is null), "
            f"count(*) filter (where {RELEASED_AT} is not null), count(distinct {BATCH_ID}), "
            f"arg_max({REASON}, {QUARANTINED_AT}) from {qualified_name(source, table)} "
            "group by all order by all"
        ).fetchall():
            result.append(
                {
                    "table": f"{source}.{table}",
                    "stage": stage,
                    "rule": rule,
                    "held": int(held),
                    "released": int(released),
                    "batches": int(batches),
                    "example": example,
                }
            )
    return result


def rows(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    *,
    rule: str | None = None,
    batch: str | None = None,
    limit: int | None = 20,
    include_released: bool = False,
) -> list[dict[str, object]]:
    """Quarantined rows of one table, oldest first, with rule, reason and the row as delivered."""
    if not table_exists(con, QUARANTINE, table_name(source, table)):
        return []
    where, params = _filters(rule=rule, batch=batch, include_released=include_released)
    cursor = con.execute(
        f"select {', '.join(COLUMNS)} from {qualified_name(source, table)}{where} "
        f"order by {QUARANTINED_AT}, {BATCH_ID}, {ROW_NUMBER}, {RULE}" + (f" limit {int(limit)}" if limit else ""),
        params,
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def release(con: duckdb.DuckDBPyConnection, source: str, table: str, identities_sql: str, released_at: datetime) -> int:
    """Release the held quality- and staging-stage rows whose (_c360_batch_id, _c360_row_number) the SELECT
    yields.

    Returns how many rows (not entries) were released. Ingest-stage rows are never released (not in raw).
    """
    if not table_exists(con, QUARANTINE, table_name(source, table)):
        return 0
    name = qualified_name(source, table)
    held = (
        f"{RELEASED_AT} is null and {STAGE} in ('{STAGE_QUALITY}', '{STAGE_STAGING}') and ({BATCH_ID}, {ROW_NUMBER}) in "
        f"(select ({BATCH_ID}, {ROW_NUMBER}) from ({identities_sql}))"
    )
    count = f"select count(distinct ({BATCH_ID}, {ROW_NUMBER})) from {name} where {held}"
    row = con.execute(count).fetchone()
    con.execute(f"update {name} set {RELEASED_AT} = ? where {held}", [released_at])
    return int(row[0]) if row else 0


def rejected_batches(
    con: duckdb.DuckDBPyConnection, source: str | None = None, table: str | None = None
) -> list[dict[str, object]]:
    """Batches the quality gate rejected as a whole (staging leaves all their rows out)."""
    where = "status = 'rejected'"
    where += (" and source_name = ?" if source else "") + (" and table_name = ?" if table else "")
    params = [p for p in (source, table) if p]
    cursor = con.execute(
        "select source_name || '.' || table_name as table_name, batch_id, location, rows_loaded, loaded_at, "
        f"message from meta.batches where {where} order by loaded_at, batch_id",
        params,
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _filters(*, rule: str | None, batch: str | None, include_released: bool) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if not include_released:
        clauses.append(f"{RELEASED_AT} is null")
    if rule:
        clauses.append(f"{RULE} = ?")
        params.append(rule)
    if batch:
        clauses.append(f"{BATCH_ID} = ?")
        params.append(batch)
    return (" where " + " and ".join(clauses) if clauses else ""), params
