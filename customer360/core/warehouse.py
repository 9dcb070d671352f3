"""The warehouse seam: every DuckDB connection, schema and bookkeeping table is opened or created here.

Keeping the engine behind this one module is what lets the pipeline move to another engine later: callers ask
for a connection and speak SQL; they never configure DuckDB themselves.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from customer360.core.config import Config
from customer360.core.writer import writer_lock

# Fixed schemas (raw_<source> schemas come from the configuration).
META = "meta"
QUARANTINE = "quarantine"
STAGING = "staging"
ENTITY_RESOLUTION = "entity_resolution"
MARTS = "marts"

# Load metadata carried by every raw row. Together, batch id and row number identify a delivered row.
BATCH_ID = "_c360_batch_id"
LOADED_AT = "_c360_loaded_at"
SOURCE_LOCATION = "_c360_source"  # file path, database table + cursor range, or API URL
ROW_NUMBER = "_c360_row_number"  # position in the delivery (line number for files)
ROW_HASH = "_c360_row_hash"  # content hash: the same row delivered twice is stored once
METADATA_COLUMNS = (BATCH_ID, LOADED_AT, SOURCE_LOCATION, ROW_NUMBER, ROW_HASH)

# DuckDB cannot download extensions here; they ship as PyPI wheels pinned to the DuckDB release.
_EXTENSION_PACKAGES = {
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "fts": "duckdb_extension_fts",
}

_META_DDL = f"""
create schema if not exists {META};
create table if not exists {META}.runs (
    run_id varchar primary key,
    command varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,          -- running, succeeded, partial, failed, blocked, interrupted
    summary json
);
create table if not exists {META}.batches (
    batch_id varchar primary key,
    run_id varchar not null,
    source_name varchar not null,
    table_name varchar not null,
    location varchar not null,        -- file path, table + cursor range, or endpoint
    content_hash varchar,             -- files: sha256 of the bytes, so a re-delivered file is recognised
    cursor_from varchar,
    cursor_to varchar,
    rows_delivered bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_duplicate bigint not null default 0,
    rows_rejected bigint not null default 0,   -- could not be parsed: kept in quarantine with the reason
    loaded_at timestamptz not null,
    status varchar not null,          -- loaded, empty, duplicate, failed; the gate sets rejected, a reload superseded
    message varchar
);
-- quality gate (expectations/runner.py): when a batch was checked (null: not yet) and what it found
alter table {META}.batches add column if not exists validated_at timestamptz;
alter table {META}.batches add column if not exists quality json;
-- the columns the delivery itself had (a file's header, the keys of its records, a table's columns): a column in
-- that list is delivered even when every value is empty (new tickets have no solved_at yet)
alter table {META}.batches add column if not exists delivered_columns json;
-- data subjects' restrictions and objections in force, one row per request and record: copied from
-- state/privacy.sqlite before every marts build (customer360/privacy.py), read by dbt (source privacy)
create table if not exists {META}.privacy_requests (
    request_id bigint not null,
    kind varchar not null,            -- restriction (Art. 18), objection (Art. 21)
    purpose varchar,                  -- objections: marketing, profiling, any
    record_key varchar not null,
    requested_at timestamptz not null
);
-- what the last marts build stood on (customer360/marts_scope.py): the next one may be incremental only on the same
create table if not exists {META}.marts_basis (
    basis varchar not null,
    run_id varchar not null,
    built_at timestamptz not null
);
-- added after the first release of the table: a warehouse built before gets them here
-- an incremental build: the build it updated (meta.marts_changes: its customers)
alter table {META}.marts_basis add column if not exists updated_run_id varchar;
-- JSON list: the marts that are written per customer
alter table {META}.marts_basis add column if not exists incremental_tables varchar;
"""


def extension_path(name: str) -> Path:
    """The .duckdb_extension file inside the matching `duckdb-extension-<name>` wheel."""
    package = importlib.import_module(_EXTENSION_PACKAGES[name])
    path = Path(str(package.__file__)).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(
            f"DuckDB extension {name} for DuckDB {duckdb.__version__} not found at {path}: "
            f"install duckdb-extension-{name.replace('_', '-')}=={duckdb.__version__}"
        )
    return path


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"load '{extension_path(name)}'")


def connect(config: Config, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. One writer at a time: DuckDB locks the file for a read-write connection."""
    path = config.warehouse_path
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    settings: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": config.warehouse.memory_limit,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if config.warehouse.threads:
        settings["threads"] = config.warehouse.threads
    con = duckdb.connect(str(path), read_only=read_only, config=settings)
    con.execute("set timezone = 'UTC'")
    return con


@contextmanager
def session(config: Config, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is closed afterwards, so that dbt or another process can open the file next. A writing
    session holds the writer lock (customer360/core/writer.py), unless the process holds it already (a run)."""
    with contextlib.nullcontext() if read_only else writer_lock(config.warehouse_path, _process_name()):
        con = connect(config, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


def _process_name() -> str:
    """What a person would call this process in the busy message: `c360 ingest`, `airflow tasks`, `pytest`."""
    if not sys.argv or sys.argv[0] in {"", "-c", "-m"}:
        return "a Python process"
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:2]])


def ensure_schemas(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """Create the fixed schemas, one raw schema per source, and the bookkeeping tables (idempotent)."""
    schemas = [QUARANTINE, STAGING, ENTITY_RESOLUTION, MARTS] + [s.raw_schema for s in config.sources]
    for schema in schemas:
        con.execute(f"create schema if not exists {schema}")
    con.execute(_META_DDL)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [row[0] for row in rows]
