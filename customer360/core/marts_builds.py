"""The bookkeeping of marts builds (customer360/marts_scope.py decides them): what the last one stood on, and what
it changed when it was incremental — read by publishing to update a copy of the previous snapshot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from customer360.core.warehouse import META

if TYPE_CHECKING:
    import duckdb

SCOPE = f"{META}.marts_scope"  # read by the dbt macros; exists only during an incremental build
BASIS = f"{META}.marts_basis"  # one row: the last successful build (DDL in customer360/core/warehouse.py)
CHANGES = f"{META}.marts_changes"  # the customers the last build wrote anew, if it was incremental
INPUTS = f"{META}.marts_inputs"  # digests of what the last build read from outside the marts stage (marts_scope.py)
INPUTS_STALE = f"{META}.marts_inputs_stale"  # exists when those may have changed since (rows loaded, staging built)


def mark_inputs_stale(con: duckdb.DuckDBPyConnection) -> None:
    """Rows were loaded, released or staged again: the next marts build compares what it reads with INPUTS."""
    con.execute(f"create table if not exists {INPUTS_STALE} as select now() as since")


@dataclass(frozen=True)
class MartsUpdate:
    """The last marts build was incremental: it updated build `updates`, writing `changes` (a table of customer
    IDs) anew in `tables`; every other mart was rebuilt whole."""

    run_id: str
    updates: str
    tables: frozenset[str]
    changes: str = CHANGES


def last_update(con: duckdb.DuckDBPyConnection) -> MartsUpdate | None:
    """What the last marts build changed, if it was incremental (None: it was full, failed, or is unknown)."""
    found = present(con, BASIS, CHANGES)
    row = con.execute(f"select run_id, updated_run_id, incremental_tables from {BASIS}").fetchone() if found else None
    if found < 2 or row is None or row[1] is None:
        return None
    return MartsUpdate(row[0], row[1], frozenset(json.loads(row[2])))


def update_of(con: duckdb.DuckDBPyConnection, snapshot: Path | None) -> MartsUpdate | None:
    """The last marts build's changes, when it updated exactly the build `snapshot` holds: every other row is one
    that snapshot published (and so passed the checks before publishing)."""
    import duckdb

    update = last_update(con)
    if update is None or snapshot is None:
        return None
    path = str(snapshot).replace("'", "''")
    con.execute(f"attach '{path}' as c360_previous (read_only)")
    try:
        held = con.execute("select marts_build from c360_previous.meta.snapshot").fetchone()
    except duckdb.Error:  # a snapshot published before snapshots named their marts build
        return None
    finally:
        con.execute("detach c360_previous")
    return update if held is not None and held[0] == update.updates else None


def last_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run id of the last successful marts build, as a snapshot records what it holds."""
    row = con.execute(f"select run_id from {BASIS}").fetchone() if present(con, BASIS) else None
    return row[0] if row else None


def present(con: duckdb.DuckDBPyConnection, *tables: str) -> int:
    """How many of these tables (schema.table) the warehouse has: an older one may lack them, and publishing reads
    it read-only. No bound parameters: publishing runs without the pandas import they cost."""
    names = ", ".join(f"'{table}'" for table in tables)
    return scalar(
        con,
        "select count(*) from information_schema.tables where table_catalog = current_database()"
        f" and table_schema || '.' || table_name in ({names})",
    )


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
