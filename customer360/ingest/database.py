"""The database connectors: SQLite and PostgreSQL, read via DuckDB's scanner extensions (ATTACH, read-only).

A table with `incremental.cursor` is read from the last loaded cursor value on (minus `lookback_seconds`); a
table without one is read in full. Either way rows already in the raw table (same `_c360_row_hash`) are
skipped, so re-running adds nothing. Raw tables keep the source's column types; SQLite, whose typing is loose,
is read as text (`sqlite_all_varchar`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import duckdb

from customer360.core.warehouse import METADATA_COLUMNS, ROW_NUMBER, load_extension
from customer360.ingest.loader import (
    STAGE,
    Batch,
    SourceError,
    TableContext,
    create_empty_rejects,
    describe_columns,
    first_line,
    is_number,
    last_cursor,
    later_text,
    literal,
    q,
    text_cursor_max_sql,
    text_lower_bound,
    write_batch,
)

_TIME_TYPES = ("TIMESTAMP", "DATE", "TIME")


# -- connection strings --------------------------------------------------------------------------------------
def redact_dsn(dsn: str) -> str:
    """A connection string without its password (URI or key=value form), safe for messages and metadata."""
    if "://" in dsn:
        parts = urlsplit(dsn)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}@{host}"
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query)])
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", dsn)


def _with_connect_timeout(dsn: str, seconds: float) -> str:
    if "connect_timeout" in dsn:
        return dsn
    timeout = max(1, int(seconds))
    if "://" in dsn:
        return f"{dsn}{'&' if '?' in dsn else '?'}connect_timeout={timeout}"
    return f"{dsn} connect_timeout={timeout}"


def _scrub(text: str, dsn: str) -> str:
    return text.replace(dsn, redact_dsn(dsn)) if dsn else text


@contextmanager
def attached(ctx: TableContext) -> Iterator[str]:
    """ATTACH the source database read-only for the duration of the block; yields the catalog alias."""
    source, con = ctx.source, ctx.con
    alias = f"_c360_src_{source.name}"
    if source.connector == "sqlite":
        path = ctx.config.resolve_path(source.path or "")
        if not path.is_file():
            raise SourceError(
                f"source '{source.name}': SQLite database {path} not found — check `path` of source "
                f"'{source.name}' (for the demo, generate the silos first: `c360 generate`)"
            )
        load_extension(con, "sqlite_scanner")
        con.execute("set sqlite_all_varchar = true")
        try:
            con.execute(f"attach {literal(str(path))} as {q(alias)} (type sqlite, read_only)")
            # ATTACH is lazy: list the tables now, so that a file that is not a database fails here.
            con.execute(f"select count(*) from duckdb_tables() where database_name = {literal(alias)}").fetchall()
        except duckdb.Error as error:
            raise SourceError(
                f"source '{source.name}': cannot open SQLite database {path}: {first_line(error)}"
            ) from None
    else:
        dsn = source.dsn or ""
        load_extension(con, "postgres_scanner")
        try:
            con.execute(
                f"attach {literal(_with_connect_timeout(dsn, source.timeout_seconds))} as {q(alias)} "
                "(type postgres, read_only)"
            )
        except duckdb.Error as error:
            message = _scrub(first_line(error), _with_connect_timeout(dsn, source.timeout_seconds))
            raise SourceError(
                f"source '{source.name}': cannot connect to PostgreSQL at {redact_dsn(dsn)}: "
                f"{_scrub(message, dsn)} — check `dsn` of source '{source.name}' (user, password, host, "
                "port, database) and that the server is running and reachable"
            ) from None
    try:
        yield alias
    finally:
        with suppress(duckdb.Error):
            con.execute(f"detach {q(alias)}")
        if source.connector == "sqlite":
            con.execute("reset sqlite_all_varchar")


def _database_label(ctx: TableContext) -> str:
    if ctx.source.connector == "sqlite":
        return f"sqlite:{ctx.config.resolve_path(ctx.source.path or '')}"
    return f"postgres:{redact_dsn(ctx.source.dsn or '')}"


def table_location(ctx: TableContext) -> str:
    """`<database>#<schema>.<table>` (no secrets) for messages and meta.batches."""
    return f"{_database_label(ctx)}#{_schema(ctx)}.{ctx.table.source_table or ctx.table.name}"


def _schema(ctx: TableContext) -> str:
    return "main" if ctx.source.connector == "sqlite" else (ctx.source.schema_ or "public")


def load_table(ctx: TableContext, alias: str) -> None:
    con = ctx.con
    schema = _schema(ctx)
    name = ctx.table.source_table or ctx.table.name
    known = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? and table_schema = ? "
            "order by table_name",
            [alias, schema],
        ).fetchall()
    ]
    if name not in known:
        raise SourceError(
            f"{ctx.label}: table {schema}.{name} not found in {_database_label(ctx)} "
            f"(tables there: {', '.join(known) or 'none'}) — check `source_table` (or the table name) of "
            f"table '{ctx.table.name}' in source '{ctx.source.name}'"
        )
    reference = f"{q(alias)}.{q(schema)}.{q(name)}"
    columns = describe_columns(con, f"select * from {reference}")
    types = {column.lower(): dtype for column, dtype in columns}
    clash = [column for column, _ in columns if column in METADATA_COLUMNS]
    if clash:
        raise SourceError(f"{ctx.label}: the source table has column(s) {clash} reserved for load metadata")

    cursor = ctx.table.incremental.cursor
    lookback = ctx.table.incremental.lookback_seconds
    if cursor and cursor.lower() not in types:
        raise SourceError(
            f"{ctx.label}: cursor column '{cursor}' (incremental.cursor) is not a column of {schema}.{name} "
            f"(columns: {', '.join(c for c, _ in columns)})"
        )
    cursor_type = types[cursor.lower()] if cursor else None
    previous = last_cursor(ctx) if cursor else None
    where, bound = "", None
    params: list[object] = []
    if cursor and cursor_type and previous is not None:
        c = q(cursor)
        # a row without a cursor value cannot say whether it is new: it is read every time (and loaded once, by
        # its content), never skipped for good
        no_cursor = f"{c} is null"
        if cursor_type == "VARCHAR":
            if is_number(previous):
                no_cursor = f"try_cast({c} as double) is null"
                where, params, bound = f" where try_cast({c} as double) >= ?", [float(previous)], previous
            else:
                bound = text_lower_bound(previous, lookback)
                where, params = f" where {c} >= ?", [bound]
        else:
            expression = f"cast(? as {cursor_type})"
            if lookback and cursor_type.startswith(_TIME_TYPES):
                expression = f"({expression} - to_seconds({lookback}))"
            where, params, bound = f" where {c} >= {expression}", [previous], previous
        where += f" or {no_cursor}"

    order_columns = ([cursor] if cursor else []) + [k for k in ctx.table.primary_key if k.lower() in types]
    order = f"order by {', '.join(q(c) for c in order_columns)}" if order_columns else ""
    select = ", ".join(q(column) for column, _ in columns)
    ctx.progress.update(description=f"{ctx.label}: reading {schema}.{name}")
    con.execute(
        f"create or replace temp table {STAGE} as "
        f"select row_number() over ({order}) as {ROW_NUMBER}, {select} from {reference}{where}",
        params,
    )
    create_empty_rejects(con)

    cursor_to = None
    if cursor:
        c = q(cursor)
        if cursor_type == "VARCHAR":
            row = con.execute(f"select {text_cursor_max_sql(cursor)} from {STAGE}").fetchone()
            newest = row[0] if row else None
            cursor_to = later_text(previous, newest)
        elif previous is None:
            row = con.execute(f"select cast(max({c}) as varchar) from {STAGE}").fetchone()
            cursor_to = row[0] if row else None
        else:
            row = con.execute(
                f"select cast(greatest(max({c}), cast(? as {cursor_type})) as varchar) from {STAGE}",
                [previous],
            ).fetchone()
            cursor_to = row[0] if row else previous
    if cursor:
        row = con.execute(f"select count(*) from {STAGE} where {q(cursor)} is null").fetchone()
        if row and row[0]:
            ctx.result.warn(
                f"{ctx.label}: {row[0]:,} row(s) have no {cursor} (incremental.cursor): they are read on every run "
                "and loaded once; give them a cursor value in the source"
            )
        extent = f"{cursor} >= '{bound}'" if bound is not None else "full read"
        location = f"{_database_label(ctx)}#{schema}.{name} [{extent}; up to '{cursor_to}']"
    else:
        location = f"{_database_label(ctx)}#{schema}.{name} [full read]"
    # With the primary key among the columns, two rows of one read cannot be identical: skip that check.
    has_key = bool(ctx.table.primary_key) and all(k.lower() in types for k in ctx.table.primary_key)
    batch = Batch(
        ctx.new_batch_id(),
        location,
        cursor_from=bound,
        cursor_to=cursor_to,
        dedupe=True,
        dedupe_within=not has_key,
        what="read",
    )
    counts = write_batch(ctx, batch)
    ctx.progress.done(
        f"{ctx.label}: {counts.delivered:,} rows read, {counts.loaded:,} new, {counts.duplicate:,} loaded before"
    )
    if counts.delivered and not counts.loaded:
        ctx.result.info(f"{ctx.label}: no new rows in {schema}.{name} ({counts.delivered:,} read, all loaded before)")
