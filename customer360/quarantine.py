"""Quarantine: rows that could not be parsed (stage `ingest`) or failed a row-level expectation (`quality`).

One table per raw table, `quarantine.<source>__<table>` (contract: docs/architecture.md). A quarantined row
keeps its identity `(_c360_batch_id, _c360_row_number)`, so staging can leave it out and a fixed row can be
released (`_c360_released_at`). Rows are written set-based: callers hand over a SELECT yielding the columns.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from customer360.warehouse import BATCH_ID, QUARANTINE, ROW_NUMBER, SOURCE_LOCATION, quote_identifier

STAGE = "_c360_stage"  # ingest | quality
RULE = "_c360_rule"  # e.g. parse_error, not_an_object, or the expectation's name
REASON = "_c360_reason"  # a sentence a person understands, naming file/URL and line/page
RECORD = "_c360_record"  # the row as delivered, as JSON; for unparseable input the raw text
QUARANTINED_AT = "_c360_quarantined_at"
RELEASED_AT = "_c360_released_at"

STAGE_INGEST = "ingest"
STAGE_QUALITY = "quality"

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
    params: list[object] | None = None,
    *,
    stage: str,
    quarantined_at: datetime,
) -> int:
    """Quarantine the rows a SELECT yields (columns named as in ROW_COLUMNS); returns how many were written.

    `_c360_record` may be any type: it is stored as text (JSON for rows, the raw text for unparseable input).
    """
    if stage not in (STAGE_INGEST, STAGE_QUALITY):
        raise ValueError(f"quarantine stage must be '{STAGE_INGEST}' or '{STAGE_QUALITY}', got {stage!r}")
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
