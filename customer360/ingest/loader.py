"""The part every connector shares: append a parsed batch to `raw_<source>.<table>` with its load metadata,
quarantine what could not be parsed, and record the batch in `meta.batches` — in one transaction.

A connector parses a delivery into a temporary *stage* table (data columns plus `_c360_row_number` and,
optionally, `_c360_source`) and, for unparseable input, a *rejects* table (`_c360_row_number`, `_c360_source`,
`_c360_rule`, `_c360_reason`, `_c360_record`). `write_batch` does the rest, set-based.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from customer360.core import quarantine, tombstones
from customer360.core.config import Config, SourceConfig, TableConfig
from customer360.core.warehouse import (
    BATCH_ID,
    LOADED_AT,
    META,
    METADATA_COLUMNS,
    QUARANTINE,
    ROW_HASH,
    ROW_NUMBER,
    SOURCE_LOCATION,
    quote_identifier,
    table_exists,
)
from customer360.ingest.report import TableResult

# Temporary tables (per connection) used while a batch is parsed.
STAGE = "_c360_ingest_stage"
STAGE_VIEW = "_c360_ingest_stage_view"  # a stage that needs no copy (e.g. a CSV without malformed lines)
REJECTS = "_c360_ingest_rejects"
RECORDS = "_c360_ingest_records"

_METADATA_DDL = (
    f"{BATCH_ID} varchar not null, {LOADED_AT} timestamptz not null, {SOURCE_LOCATION} varchar, "
    f"{ROW_NUMBER} bigint not null, {ROW_HASH} varchar not null"
)
_NESTED = ("JSON", "STRUCT", "MAP", "UNION")


class SourceError(Exception):
    """An expected failure (unreachable source, unreadable file, HTTP error): the message is for a person."""


def q(name: str) -> str:
    return quote_identifier(name)


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# -- names ---------------------------------------------------------------------------------------------------
_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}


def normalise_name(name: str) -> str:
    """Header name → column name: lower case, umlauts folded, other non-alphanumerics → `_`, trimmed.

    `Letzte Änderung` → `letzte_aenderung`, `E-Mail` → `e_mail`, `Straße` → `strasse`. Accents are dropped
    (`Café` → `cafe`); a name starting with a digit gets the prefix `col_`; an empty one becomes ''.
    """
    import unicodedata

    text = name.strip().lower()
    for umlaut, folded in _UMLAUTS.items():
        text = text.replace(umlaut, folded)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    if text and text[0].isdigit():
        text = f"col_{text}"
    return text


def unique_names(names: list[str], fallback: str = "column") -> list[str]:
    """Make names unique, case-insensitively as DuckDB compares them: `x`, `x_2`, ...; empty: `column_<i>`."""
    seen: set[str] = set()
    result: list[str] = []
    for position, name in enumerate(names, start=1):
        base = name or f"{fallback}_{position}"
        if base.lower().startswith("_c360_"):
            base = f"src{base}"
        candidate, n = base, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{base}_{n}"
        seen.add(candidate.lower())
        result.append(candidate)
    return result


# -- context -------------------------------------------------------------------------------------------------
@dataclass
class TableContext:
    """Everything a connector needs to load one configured table."""

    con: duckdb.DuckDBPyConnection
    config: Config
    source: SourceConfig
    table: TableConfig
    run_id: str
    loaded_at: datetime
    result: TableResult
    tmpdir: Path
    progress: ProgressHandle
    # `c360 ingest --reload`: read everything again as if nothing had been loaded; what the reload delivers
    # anew then supersedes the earlier deliveries (supersede_earlier)
    reload: bool = False
    # the key of the tombstones registered on `con` for this ingestion (tombstones.load_into); None: none
    tombstone_key: str | None = None
    _sequence: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def label(self) -> str:
        return f"{self.source.name}.{self.table.name}"

    @property
    def raw_schema(self) -> str:
        return self.source.raw_schema

    @property
    def raw_table(self) -> str:
        return f"{q(self.raw_schema)}.{q(self.table.name)}"

    def raw_exists(self) -> bool:
        return table_exists(self.con, self.raw_schema, self.table.name)

    def new_batch_id(self) -> str:
        return (
            f"{self.loaded_at:%Y%m%dT%H%M%S}Z-{self.source.name}.{self.table.name}-"
            f"{next(self._sequence):04d}-{uuid.uuid4().hex[:6]}"
        )


class ProgressHandle:
    """A thin wrapper over one rich.progress task (or nothing, when progress is off)."""

    def __init__(self, progress=None, description: str = "") -> None:  # progress: rich.progress.Progress
        self._progress = progress
        self._task = progress.add_task(description, total=None) if progress is not None else None

    def update(
        self,
        *,
        description: str | None = None,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
    ) -> None:
        if self._progress is None:
            return
        kwargs: dict[str, object] = {}
        if description is not None:
            kwargs["description"] = description
        if total is not None:
            kwargs["total"] = total
        if completed is not None:
            kwargs["completed"] = completed
        if advance is not None:
            kwargs["advance"] = advance
        self._progress.update(self._task, **kwargs)

    def done(self, description: str | None = None) -> None:
        if self._progress is None:
            return
        task = self._progress.tasks[[t.id for t in self._progress.tasks].index(self._task)]
        total = task.total if task.total is not None else max(task.completed, 1)
        self._progress.update(self._task, total=total, completed=total, description=description or task.description)


# -- batches -------------------------------------------------------------------------------------------------
@dataclass
class Batch:
    batch_id: str
    location: str  # file path, database table + cursor range, or API URL (never a secret)
    stage: str | None = STAGE  # temp table of parsed rows; None: nothing parsed
    rejects: str | None = None  # temp table of unparseable rows
    content_hash: str | None = None
    cursor_from: str | None = None
    cursor_to: str | None = None
    dedupe: bool = False  # databases and APIs: skip rows whose hash is already in the raw table
    # ... and keep only the first of identical rows within the batch (not needed when a primary key is read)
    dedupe_within: bool = True
    what: str = "delivery"  # how warnings name the delivery: "file", "read", ...


@dataclass(frozen=True)
class Counts:
    delivered: int
    loaded: int
    duplicate: int
    rejected: int
    suppressed: int = 0  # rows of erased people (tombstones), not loaded


def describe_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]


def raw_columns(ctx: TableContext) -> dict[str, tuple[str, str]]:
    """Data columns of the raw table: lower-case name → (name, type); {} when the table does not exist."""
    if not ctx.raw_exists():
        return {}
    return {
        name.lower(): (name, dtype)
        for name, dtype in describe_columns(ctx.con, ctx.raw_table)
        if name not in METADATA_COLUMNS
    }


def count_rows(con: duckdb.DuckDBPyConnection, relation: str | None) -> int:
    if relation is None:
        return 0
    row = con.execute(f"select count(*) from {relation}").fetchone()
    return int(row[0]) if row else 0


def row_hash_sql(columns: list[str], alias: str = "") -> str:
    """md5 of `name=value` of the non-null columns, sorted by name: stable when a column is added (NULL)."""
    if not columns:
        return "md5('')"
    prefix = f"{alias}." if alias else ""
    parts = [
        f"{literal(name.lower() + '=')} || cast({prefix}{q(name)} as varchar)"
        for name in sorted(columns, key=str.lower)
    ]
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


def write_batch(ctx: TableContext, batch: Batch) -> Counts:
    """Append the staged rows (and quarantine the rejects) and record the batch, atomically."""
    con = ctx.con
    suppressed = suppress_erased(ctx, batch)
    stage_columns = describe_columns(con, batch.stage) if batch.stage else []
    has_source_column = any(name == SOURCE_LOCATION for name, _ in stage_columns)
    data = [(name, dtype) for name, dtype in stage_columns if name not in (ROW_NUMBER, SOURCE_LOCATION)]
    delivered_ok = count_rows(con, batch.stage)
    rejected = count_rows(con, batch.rejects)
    known_rejects = 0
    if rejected and batch.dedupe and batch.rejects and not ctx.reload:
        # A re-read (cursor overlap, full read) delivers the same unparseable input again: quarantine it once.
        known_rejects = _forget_known_rejects(ctx, batch.rejects)
        rejected -= known_rejects

    con.execute("begin transaction")
    try:
        existing = raw_columns(ctx)
        notes: list[str] = []
        created = False
        if not existing and not ctx.raw_exists() and data:
            columns_ddl = ", ".join(f"{q(name)} {dtype}" for name, dtype in data)
            con.execute(f"create table {ctx.raw_table} ({_METADATA_DDL}, {columns_ddl})")
            created = True
        elif existing:
            added = [(name, dtype) for name, dtype in data if name.lower() not in existing]
            for name, dtype in added:
                con.execute(f"alter table {ctx.raw_table} add column {q(name)} {dtype}")
            if added:
                notes.append(
                    f"{ctx.label}: new column(s) {', '.join(n for n, _ in added)} in {batch.what} "
                    f"{batch.location}: added to {ctx.raw_schema}.{ctx.table.name} "
                    "(earlier rows have NULL there)"
                )
            present = {name.lower() for name, _ in data}
            missing = [name for key, (name, _) in existing.items() if key not in present]
            if missing and batch.stage and delivered_ok:
                notes.append(
                    f"{ctx.label}: column(s) {', '.join(missing)} missing from {batch.what} "
                    f"{batch.location}: loaded as NULL"
                )

        loaded = 0
        if batch.stage and (created or existing) and delivered_ok:
            names = [name for name, _ in data]
            target = ", ".join([BATCH_ID, LOADED_AT, SOURCE_LOCATION, ROW_NUMBER, ROW_HASH, *map(q, names)])
            source_expr = f"coalesce(s.{SOURCE_LOCATION}, $location)" if has_source_column else "$location"
            values = ", ".join(
                [
                    "$batch_id",
                    "$loaded_at",
                    source_expr,
                    f"s.{ROW_NUMBER}",
                    "s._c360_hash",
                    *(f"s.{q(n)}" for n in names),
                ]
            )
            dedupe = ""
            if batch.dedupe:
                dedupe = (
                    f" where not exists (select 1 from {ctx.raw_table} r where r.{ROW_HASH} = s._c360_hash "
                    f"and r.{BATCH_ID} in ({_live_batches_sql(ctx)}))"
                )
                if batch.dedupe_within:
                    dedupe += f" qualify row_number() over (partition by s._c360_hash order by s.{ROW_NUMBER}) = 1"
            row = con.execute(
                f"insert into {ctx.raw_table} ({target}) select {values} "
                f"from (select *, {row_hash_sql(names)} as _c360_hash from {batch.stage}) s{dedupe}",
                {"batch_id": batch.batch_id, "loaded_at": ctx.loaded_at, "location": batch.location},
            ).fetchone()
            loaded = int(row[0]) if row else 0

        if rejected:
            quarantine.insert(
                con,
                ctx.source.name,
                ctx.table.name,
                f"select {literal(batch.batch_id)} as {BATCH_ID}, {ROW_NUMBER}, "
                f"coalesce({SOURCE_LOCATION}, {literal(batch.location)}) as {SOURCE_LOCATION}, "
                f"{quarantine.RULE}, {quarantine.REASON}, {quarantine.RECORD} from {batch.rejects}",
                stage=quarantine.STAGE_INGEST,
                quarantined_at=ctx.loaded_at,
            )
        counts = Counts(
            delivered_ok + rejected + known_rejects + suppressed,
            loaded,
            delivered_ok - loaded + known_rejects,
            rejected,
            suppressed,
        )
        # Files: every delivery is recorded (so it is recognised next time). Databases and APIs: a read that
        # brought nothing new is not a batch, so re-running with no new data adds no rows anywhere.
        recorded = not batch.dedupe or bool(loaded or rejected)
        if recorded:
            columns = [name for name, _ in data] if batch.stage else None
            record_batch(ctx, batch, "loaded" if counts.delivered else "empty", counts, columns=columns)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if recorded:
        for note in notes:
            ctx.result.warn(note)
    ctx.result.count(counts.delivered, counts.loaded, counts.duplicate, counts.rejected, counts.suppressed)
    return counts


SUPPRESSED_STAGE = "_c360_ingest_not_erased"


def suppress_erased(ctx: TableContext, batch: Batch) -> int:
    """Rows of erased people delivered again (a replayed file, a full re-read, a REST backfill) never reach raw:
    rows whose keys match a tombstone (customer360/core/tombstones.py) are dropped from the stage and counted as
    suppressed. Without tombstones it costs nothing."""
    if ctx.tombstone_key is None or not batch.stage:
        return 0
    con = ctx.con
    keys = tombstones.bindable_keys(
        con, batch.stage, tombstones.suppression_keys(ctx.config, ctx.source, ctx.table.name)
    )
    if not keys:
        return 0
    before = count_rows(con, batch.stage)
    con.execute(
        f"create or replace temp table {SUPPRESSED_STAGE} as select * from {batch.stage} as source_rows"
        f" where not {tombstones.matches_sql(keys, tombstones.TOMBSTONE_TABLE)}",
        {"tombstone_key": ctx.tombstone_key},
    )
    suppressed = before - count_rows(con, SUPPRESSED_STAGE)
    if suppressed:
        batch.stage = SUPPRESSED_STAGE
        ctx.result.info(
            f"{ctx.label}: {suppressed:,} row(s) of erased people in {batch.what} {batch.location} suppressed"
            " (docs/privacy.md)"
        )
    return suppressed


def _forget_known_rejects(ctx: TableContext, rejects: str) -> int:
    """Drop rejects already in quarantine (same raw text, stage ingest); returns how many were dropped."""
    if not table_exists(ctx.con, QUARANTINE, quarantine.table_name(ctx.source.name, ctx.table.name)):
        return 0
    before = count_rows(ctx.con, rejects)
    ctx.con.execute(
        f"delete from {rejects} where md5({quarantine.RECORD}) in (select md5({quarantine.RECORD}) "
        f"from {quarantine.qualified_name(ctx.source.name, ctx.table.name)} "
        f"where {quarantine.STAGE} = '{quarantine.STAGE_INGEST}' and {quarantine.RELEASED_AT} is null)"
    )
    return before - count_rows(ctx.con, rejects)


def record_batch(
    ctx: TableContext,
    batch: Batch,
    status: str,
    counts: Counts | None = None,
    message: str | None = None,
    columns: list[str] | None = None,
) -> None:
    counts = counts or Counts(0, 0, 0, 0)
    ctx.con.execute(
        f"insert into {META}.batches (batch_id, run_id, source_name, table_name, location, content_hash, "
        "cursor_from, cursor_to, rows_delivered, rows_loaded, rows_duplicate, rows_rejected, loaded_at, "
        "status, message, delivered_columns) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch.batch_id,
            ctx.run_id,
            ctx.source.name,
            ctx.table.name,
            batch.location,
            batch.content_hash,
            batch.cursor_from,
            batch.cursor_to,
            counts.delivered,
            counts.loaded,
            counts.duplicate,
            counts.rejected,
            ctx.loaded_at,
            status,
            message,
            json.dumps(columns) if columns is not None else None,
        ],
    )
    ctx.result.batches.append(batch.batch_id)


def record_failure(
    ctx: TableContext, batch_id: str, location: str, message: str, content_hash: str | None = None
) -> None:
    """A delivery that could not be loaded: recorded (status failed) so the ledger shows every attempt."""
    with suppress(duckdb.Error):  # the ledger must never hide the original problem
        record_batch(ctx, Batch(batch_id, location, stage=None, content_hash=content_hash), "failed", message=message)


def drop_temp(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        kind = "view" if name.endswith("_view") else "table"
        con.execute(f"drop {kind} if exists {name}")


# -- the ledger ----------------------------------------------------------------------------------------------
SUPERSEDED = "superseded"  # a delivery a reload replaced: its rows stay in raw, staging leaves them out


def _live_batches_sql(ctx: TableContext) -> str:
    """The table's batches whose rows count as delivered: not superseded, and during a reload only its own."""
    where = f"source_name = {literal(ctx.source.name)} and table_name = {literal(ctx.table.name)}"
    where += f" and run_id = {literal(ctx.run_id)}" if ctx.reload else f" and status <> '{SUPERSEDED}'"
    return f"select batch_id from {META}.batches where {where}"


def batches_with_hash(ctx: TableContext, content_hash: str) -> list[tuple[str, str, str, int]]:
    """Earlier deliveries with these bytes (batch_id, location, status, rows_loaded), oldest first."""
    return [
        (row[0], row[1], row[2], int(row[3]))
        for row in ctx.con.execute(
            f"select batch_id, location, status, rows_loaded from {META}.batches "
            f"where batch_id in ({_live_batches_sql(ctx)}) and content_hash = ? and status <> 'failed' "
            "order by loaded_at, batch_id",
            [content_hash],
        ).fetchall()
    ]


def supersede_earlier(ctx: TableContext) -> int:
    """After a reload: the table's earlier deliveries that it read again are superseded — every earlier batch
    of a database or API table whose read succeeded; for files, the earlier batches of each file that was read
    again (a file that failed keeps its old rows). Their held quarantine rows are released (the new batch
    quarantines what is still broken). Returns how many batches were superseded."""
    con = ctx.con
    again = ", ".join(literal(batch_id) for batch_id in ctx.result.batches) or "null"
    earlier = (
        f"source_name = {literal(ctx.source.name)} and table_name = {literal(ctx.table.name)} "
        f"and run_id <> {literal(ctx.run_id)} and status not in ('failed', '{SUPERSEDED}')"
    )
    if ctx.source.connector == "files":
        earlier += (
            f" and location in (select location from {META}.batches where batch_id in ({again}) and status <> 'failed')"
        )
    con.execute("begin transaction")
    try:
        ids = [row[0] for row in con.execute(f"select batch_id from {META}.batches where {earlier}").fetchall()]
        if ids:
            listed = ", ".join(map(literal, ids))
            con.execute(
                f"update {META}.batches set status = '{SUPERSEDED}', message = concat_ws('; ', message, "
                f"{literal(f'superseded by the reload in run {ctx.run_id}')}) where batch_id in ({listed})"
            )
            if table_exists(con, QUARANTINE, quarantine.table_name(ctx.source.name, ctx.table.name)):
                con.execute(
                    f"update {quarantine.qualified_name(ctx.source.name, ctx.table.name)} "
                    f"set {quarantine.RELEASED_AT} = ? where {quarantine.RELEASED_AT} is null "
                    f"and {BATCH_ID} in ({listed})",
                    [ctx.loaded_at],
                )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return len(ids)


def last_cursor(ctx: TableContext) -> str | None:
    """The cursor value the last loaded batch reached (None: read everything, e.g. the raw table is gone)."""
    if ctx.reload or not ctx.raw_exists():
        return None
    row = ctx.con.execute(
        f"select cursor_to from {META}.batches where source_name = ? and table_name = ? "
        "and status = 'loaded' and cursor_to is not null order by loaded_at desc, batch_id desc limit 1",
        [ctx.source.name, ctx.table.name],
    ).fetchone()
    return row[0] if row else None


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")


def is_number(value: str) -> bool:
    return bool(_NUMBER.match(value))


def text_lower_bound(value: str, lookback_seconds: int) -> str:
    """For text cursors: the value minus the lookback, written so that it compares correctly as text."""
    if not lookback_seconds or is_number(value) or not _TIMESTAMP.match(value):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    earlier = parsed - timedelta(seconds=lookback_seconds)
    separator = "T" if "T" in value else " "
    text = earlier.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    if value.endswith("Z"):
        text += "Z"
    elif earlier.tzinfo is not None and re.search(r"[+-]\d{2}:?\d{2}$", value):
        text += earlier.strftime("%z")[:3] + ":" + earlier.strftime("%z")[3:]
    return text


def later_text(previous: str | None, newest: str | None) -> str | None:
    """The later of two text cursor values (numerically when both are numbers)."""
    if previous is None or newest is None:
        return newest if previous is None else previous
    if is_number(previous) and is_number(newest):
        return newest if float(newest) >= float(previous) else previous
    return max(previous, newest)


def text_cursor_max_sql(column: str) -> str:
    """Maximum of a text cursor: numeric when every value is a number, as text otherwise (ISO timestamps)."""
    c = q(column)
    return (
        f"case when count({c}) = count(try_cast({c} as double)) "
        f"then arg_max({c}, try_cast({c} as double)) else max({c}) end"
    )


def json_structure(con: duckdb.DuckDBPyConnection, relation: str, column: str = "rec") -> dict[str, object]:
    """Merged structure of the JSON objects in `relation.column` (key → type or nested structure).

    Merged over one object of each distinct shape: the same result, and json_group_structure over millions
    of rows asks for gigabytes at once (out of memory on a 3M-line file)."""
    row = con.execute(
        f"select json_group_structure(sample) from "
        f"(select any_value({column}) as sample from {relation} group by json_structure({column}))"
    ).fetchone()
    if not row or row[0] is None:
        return {}
    structure = json.loads(row[0])
    return structure if isinstance(structure, dict) else {}


def json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stage_json_records(ctx: TableContext, records: str = RECORDS, stage: str = STAGE) -> None:
    """Expand JSON objects (`records`: _c360_row_number, _c360_source, rec) into one column per key.

    Scalars become VARCHAR, nested values (objects, arrays, keys mixing both) JSON; a column that already
    exists in the raw table keeps its type. JSON null is stored as SQL NULL.
    """
    con = ctx.con
    structure = json_structure(con, records)
    existing = raw_columns(ctx)
    keys = list(structure)
    names = unique_names([k if k.strip() else "" for k in keys], fallback="key")
    strings: list[str] = []
    jsons: list[str] = []
    select: list[str] = [ROW_NUMBER, SOURCE_LOCATION]
    for key, name in zip(keys, names, strict=True):
        if name != key:
            ctx.result.warn(f"{ctx.label}: key {key!r} is stored as column {name!r} (names must be unique)")
        if name.lower() in existing:
            nested = existing[name.lower()][1].upper().startswith(_NESTED) or existing[name.lower()][1].endswith("[]")
        else:
            shape = structure[key]
            nested = isinstance(shape, (dict, list)) or shape == "JSON"
        if nested:
            jsons.append(json_path(key))
            i = len(jsons)
            select.append(f"case when json_type(j[{i}]) = 'NULL' then null else j[{i}] end as {q(name)}")
        else:
            strings.append(json_path(key))
            select.append(f"s[{len(strings)}] as {q(name)}")
    lists = [
        "null::varchar[] as s"
        if not strings
        else f"json_extract_string(rec, [{', '.join(map(literal, strings))}]) as s",
        "null::json[] as j" if not jsons else f"json_extract(rec, [{', '.join(map(literal, jsons))}]) as j",
    ]
    con.execute(
        f"create or replace temp table {stage} as select {', '.join(select)} "
        f"from (select {ROW_NUMBER}, {SOURCE_LOCATION}, {', '.join(lists)} from {records})"
    )


def create_empty_rejects(con: duckdb.DuckDBPyConnection, target: str = REJECTS) -> None:
    con.execute(
        f"create or replace temp table {target} ({ROW_NUMBER} bigint, {SOURCE_LOCATION} varchar, "
        f"{quarantine.RULE} varchar, {quarantine.REASON} varchar, {quarantine.RECORD} varchar)"
    )


ITEMS = "_c360_ingest_items"
PARSED = "_c360_ingest_parsed"


def records_path(records_field: str | None) -> str | None:
    """`tickets` → `$."tickets"`; a dotted name (`data.items`) walks into nested objects."""
    if not records_field:
        return None
    return "$." + ".".join('"' + part.replace('"', '\\"') + '"' for part in records_field.split("."))


def stage_pages(ctx: TableContext, pages: str, records_field: str | None, where_sql: str) -> None:
    """Split JSON documents (`pages`: page_no, url, body) into records (RECORDS) and unparseable input
    (REJECTS).

    A page whose records field is missing or null, or is not a list, becomes one rejected row holding the
    page; a record that is not an object becomes one rejected row. `where_sql` is a SQL expression over `url`
    and `page_no` that names the page in reasons (e.g. the file path, or 'page 3 of GET <url>').
    """
    con = ctx.con
    path = records_path(records_field)
    recs = "body::json" if path is None else f"json_extract(body, {literal(path)})"
    field = literal(f"'{records_field}'")
    subject = literal("the document" if path is None else f"field '{records_field}'")
    single_object = "true" if path is None else "false"
    # Parsed once into a narrow table; the page bodies are read again only for the (few) pages rejected whole.
    # One statement over both would materialise every body, its records and their lists at once.
    con.execute(
        f"""
        create or replace temp table {PARSED} as
        select page_no, url, ok, recs,
            case when json_type(recs) = 'ARRAY' then from_json(recs, '["json"]')
                 when {single_object} and json_type(recs) = 'OBJECT' then [recs] end as arr
        from (select page_no, url, ok, case when ok then {recs} end as recs
              from (select page_no, url, body, json_valid(body) as ok from {pages}))
        """
    )
    con.execute(
        f"""
        create or replace temp table {ITEMS} as
        select page_no, i, url, rec, null::varchar as problem, null::varchar as raw
        from (select page_no, url, generate_subscripts(arr, 1) as i, unnest(arr) as rec
              from {PARSED} where arr is not null)
        union all
        select page_no, 0 as i, url, null::json as rec,
            case when not ok then {where_sql} || ' is not valid JSON'
                 when recs is null or json_type(recs) = 'NULL'
                 then {where_sql} || ': field ' || {field}
                      || ' is missing or null; expected a list of records'
                 else {where_sql} || ': ' || {subject} || ' is ' || lower(json_type(recs))
                      || ', expected a list of records' end as problem,
            body as raw
        from {PARSED} join (select page_no, body from {pages}) using (page_no) where arr is null
        """
    )
    con.execute(f"drop table {PARSED}")
    numbered = (
        f"select row_number() over (order by page_no, i) as {ROW_NUMBER}, url as {SOURCE_LOCATION}, url, "
        f"page_no, i, rec, problem, raw from {ITEMS}"
    )
    con.execute(f"create or replace temp table {ITEMS} as {numbered}")
    con.execute(
        f"create or replace temp table {RECORDS} as select {ROW_NUMBER}, {SOURCE_LOCATION}, rec from {ITEMS} "
        "where problem is null and json_type(rec) = 'OBJECT'"
    )
    con.execute(
        f"""
        create or replace temp table {REJECTS} as
        select {ROW_NUMBER}, {SOURCE_LOCATION},
            case when problem is not null and raw is not null and not json_valid(raw) then 'parse_error'
                 when problem is not null then 'no_records' else 'not_an_object' end as {quarantine.RULE},
            coalesce(problem, 'record ' || i || ' of ' || {where_sql} || ' is '
                     || coalesce(lower(json_type(rec)), 'null') || ', not an object') as {quarantine.REASON},
            coalesce(raw, cast(rec as varchar)) as {quarantine.RECORD}
        from {ITEMS} where problem is not null or json_type(rec) is distinct from 'OBJECT'
        """
    )
    con.execute(f"drop table if exists {ITEMS}")
