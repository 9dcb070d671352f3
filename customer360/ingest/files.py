"""The files connector: CSV, JSON lines, JSON documents and Parquet delivered to a folder (a glob per table).

Each file is one delivery, loaded once (recognised by the SHA-256 of its bytes), set-based through DuckDB's
readers. CSV and JSON values land as text (nested JSON values as JSON); Parquet keeps its own types.
Unparseable lines go to quarantine with the file and line number.
"""

from __future__ import annotations

import csv
import glob
import shutil
from pathlib import Path

import duckdb

from customer360.core import quarantine
from customer360.core.warehouse import ROW_NUMBER, SOURCE_LOCATION
from customer360.ingest import encoding
from customer360.ingest.loader import (
    RECORDS,
    REJECTS,
    STAGE,
    STAGE_VIEW,
    Batch,
    SourceError,
    TableContext,
    batches_with_hash,
    count_rows,
    create_empty_rejects,
    drop_temp,
    first_line,
    literal,
    normalise_name,
    q,
    record_batch,
    record_failure,
    stage_json_records,
    stage_pages,
    unique_names,
    write_batch,
)
from customer360.ingest.report import EMPTY, UNCHANGED

READ = "_c360_ingest_read"
LINES = "_c360_ingest_lines"
PAGES = "_c360_ingest_pages"
CSV_ERRORS = "_c360_ingest_csv_errors"
CSV_SCANS = "_c360_ingest_csv_scans"
MAX_LINE_SIZE = 8 * 1024 * 1024  # DuckDB sizes its read buffer from this: keep it modest
BUFFER_SIZE = 4 * MAX_LINE_SIZE
MAX_RESYNCS = 20  # records with a quote never closed that a CSV file may have before it is rejected whole
_LINE_DELIMITER = chr(31) + chr(30)  # never inside a valid JSON line (control characters must be escaped)


def matching_files(ctx: TableContext) -> tuple[str, list[Path]]:
    pattern = str(ctx.config.resolve_path(ctx.table.path or ""))
    return pattern, sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())


def load_table(ctx: TableContext) -> None:
    pattern, paths = matching_files(ctx)
    if not paths:
        ctx.result.status = EMPTY
        ctx.result.warn(
            f"{ctx.label}: no files match {pattern} — nothing to load (check `path` of table "
            f"'{ctx.table.name}' in source '{ctx.source.name}')"
        )
        return
    sizes = {path: path.stat().st_size for path in paths}
    ctx.progress.update(description=f"{ctx.label}: {len(paths)} file(s)", total=sum(sizes.values()) or 1)
    done = 0
    for number, path in enumerate(paths, start=1):
        ctx.progress.update(description=f"{ctx.label}: {path.name} ({number}/{len(paths)})")
        try:
            load_file(ctx, path)
        except SourceError as problem:
            ctx.result.fail(str(problem))
        except duckdb.Error as error:
            message = f"{ctx.label}: could not load {path}: {first_line(error)}"
            record_failure(ctx, ctx.new_batch_id(), str(path), message)
            ctx.result.fail(message)
        finally:
            drop_temp(ctx.con, STAGE_VIEW, STAGE, REJECTS, RECORDS, LINES, PAGES, CSV_SCANS, *_CsvReader.tables(1))
            done += sizes[path]
            ctx.progress.update(completed=done)
    ctx.progress.done(f"{ctx.label}: {len(paths)} file(s), {ctx.result.rows_loaded:,} rows loaded")


def load_file(ctx: TableContext, path: Path) -> None:
    location = str(path)
    scan = encoding.scan(path)
    raw_exists = ctx.raw_exists()
    earlier = [b for b in batches_with_hash(ctx, scan.sha256) if raw_exists or b[3] == 0]
    if any(loc == location for _, loc, _, _ in earlier):
        return  # this file was loaded (or reported) before
    originals = [b for b in earlier if b[2] == "loaded"]
    if originals:
        batch_id, original, _, _ = originals[0]
        ctx.result.info(
            f"{ctx.label}: {path} has the same content as {original} (batch {batch_id}), which was loaded "
            "before: skipped"
        )
        record_batch(
            ctx,
            Batch(ctx.new_batch_id(), location, stage=None, content_hash=scan.sha256),
            "duplicate",
            message=f"same content as {original} (batch {batch_id})",
        )
        return
    batch = Batch(ctx.new_batch_id(), location, content_hash=scan.sha256, what="file")
    if scan.size == 0:
        _empty(ctx, batch, f"{ctx.label}: {path} is empty (0 bytes): nothing loaded")
        return
    fmt = ctx.table.format
    try:
        if fmt == "parquet":
            _stage_parquet(ctx, path)
            batch.rejects = None
        else:
            readable = _utf8_copy(ctx, path, scan)
            if fmt == "csv":
                stage = _stage_csv(ctx, path, readable)
                if stage is None:
                    _empty(ctx, batch, f"{ctx.label}: {path} has no header and no rows: nothing loaded")
                    return
                batch.stage = stage
            elif fmt == "jsonl":
                _stage_jsonl(ctx, path, readable)
            else:
                _stage_json(ctx, path, readable)
            batch.rejects = REJECTS
    except (encoding.EncodingProblem, SourceError) as problem:
        record_failure(ctx, batch.batch_id, location, str(problem), scan.sha256)
        raise SourceError(str(problem)) from None
    except duckdb.Error as error:
        message = f"{ctx.label}: could not read {path} as {fmt}: {first_line(error)}"
        record_failure(ctx, batch.batch_id, location, message, scan.sha256)
        raise SourceError(message) from None
    counts = write_batch(ctx, batch)
    if counts.delivered == 0:
        if ctx.result.status == UNCHANGED:
            ctx.result.status = EMPTY
        ctx.result.warn(f"{ctx.label}: {path} has no data rows: nothing loaded")
    if counts.rejected:
        ctx.result.warn(
            f"{ctx.label}: {counts.rejected} line(s) of {path} could not be parsed: kept in "
            f"quarantine.{quarantine.table_name(ctx.source.name, ctx.table.name)} with the reason"
        )


def _empty(ctx: TableContext, batch: Batch, message: str) -> None:
    record_batch(ctx, batch, "empty", message=message)
    if ctx.result.status == UNCHANGED:
        ctx.result.status = EMPTY
    ctx.result.warn(message)


def _utf8_copy(ctx: TableContext, path: Path, scan: encoding.FileScan) -> Path:
    """The file itself when it is UTF-8, otherwise a transcoded temporary copy."""
    declared = ctx.table.csv.encoding if ctx.table.format == "csv" else "auto"
    chosen = encoding.choose_encoding(scan, declared, ctx.label)
    if chosen == "utf-8":
        return path
    if declared == "auto":
        ctx.result.info(f"{ctx.label}: {path} is not UTF-8 ({scan.utf8_error}): read as {encoding.describe(chosen)}")
    target = ctx.tmpdir / f"{ctx.source.name}.{ctx.table.name}.{scan.sha256[:16]}.utf8"
    return encoding.to_utf8(path, chosen, target)


# -- CSV -----------------------------------------------------------------------------------------------------
def _header(path: Path, delimiter: str, quote: str) -> list[str] | None:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quotechar=quote or None)
        for row in reader:
            return row
    return None


def _stage_csv(ctx: TableContext, path: Path, readable: Path) -> str | None:
    """Stage a CSV file: every column as VARCHAR, malformed lines to REJECTS.

    A quote that is never closed makes the CSV reader take every later line as part of one value, so that one
    broken record would swallow the rest of the file. Such a record is quarantined alone (`unclosed_quote`) and
    the file is read again from the line after it; more than MAX_RESYNCS of them reject the file whole (the
    quote character is then most likely wrong for it).

    Returns the stage relation, or None when the file has no header (nothing at all to read).
    """
    options = ctx.table.csv
    first = _header(readable, options.delimiter, options.quote)
    if not first:
        return None
    if options.header:
        names = unique_names([normalise_name(name) for name in first])
    else:
        names = [f"column_{i}" for i in range(1, len(first) + 1)]
    header_lines = 1 if options.header else 0
    data = ", ".join(f"read.{q(n)}" for n in names)
    con = ctx.con
    reader = _CsvReader(ctx, path, names, header_lines)
    fold = reader.read(readable, 0)
    if fold is None and not count_rows(con, reader.rejects(0)):
        con.execute(
            f"create or replace temp view {STAGE_VIEW} as "
            f"select rowid + 1 + {header_lines} as {ROW_NUMBER}, {data} from {reader.read_table(0)} as read"
        )
        create_empty_rejects(con)
        return STAGE_VIEW
    header = _header_bytes(readable) if options.header else b""
    segments: list[tuple[int, int | None]] = []  # (offset of its row numbers, first local number not kept)
    offset, start = 0, 0
    while fold is not None:
        if len(segments) == MAX_RESYNCS:
            raise SourceError(
                f"{ctx.label}: {path}: more than {MAX_RESYNCS} records open a quote ({options.quote!r}) that is "
                "never closed; the file is rejected whole (is `csv.quote` right for it? '' reads quotes as text)"
            )
        local_line, local_byte = fold
        segments.append((offset, local_line))
        start += local_byte - (len(header) if segments[1:] else 0)
        broken = _line_at(readable, start)
        reader.broken(offset + local_line, broken)
        offset += local_line - header_lines
        start += len(broken)
        segment = _rest_of(ctx, readable, header, start, len(segments))
        fold = reader.read(segment, len(segments))
    segments.append((offset, None))
    stages, rejects = [], []
    for number, (row_offset, until) in enumerate(segments):
        keep = f" where {ROW_NUMBER} < {until}" if until is not None else ""
        stages.append(
            f"select {ROW_NUMBER} + {row_offset} as {ROW_NUMBER}, * exclude ({ROW_NUMBER}) "
            f"from ({reader.numbered(number, data)}){keep}"
        )
        rejects.append(
            f"select {ROW_NUMBER} + {row_offset} as {ROW_NUMBER}, * exclude ({ROW_NUMBER}) "
            f"from {reader.rejects(number)}{keep}"
        )
    con.execute(f"create or replace temp table {STAGE} as {' union all '.join(stages)}")
    con.execute(
        f"create or replace temp table {REJECTS} as {' union all '.join(rejects)} "
        f"union all select * from {reader.broken_table}"
    )
    drop_temp(con, *_CsvReader.tables(len(segments)))
    return STAGE


class _CsvReader:
    """Reads a CSV file (or the rest of one) with DuckDB's reader into numbered temp tables, one per segment."""

    broken_table = f"{REJECTS}_broken"

    def __init__(self, ctx: TableContext, path: Path, names: list[str], header_lines: int) -> None:
        self.ctx, self.path, self.names, self.header_lines = ctx, path, names, header_lines
        create_empty_rejects(ctx.con, self.broken_table)

    @staticmethod
    def read_table(number: int) -> str:
        return f"{READ}_{number}"

    @staticmethod
    def rejects(number: int) -> str:
        return f"{REJECTS}_{number}"

    @classmethod
    def tables(cls, segments: int) -> list[str]:
        """The temp tables of the first `segments` segments, and the broken records'."""
        numbered = [f"{name}_{number}" for number in range(segments) for name in (READ, REJECTS, CSV_ERRORS)]
        return [*numbered, cls.broken_table]

    def read(self, file: Path, number: int) -> tuple[int, int] | None:
        """Read one segment; returns (line, byte position) of a record that swallowed later lines, if any."""
        options, con = self.ctx.table.csv, self.ctx.con
        errors = f"{CSV_ERRORS}_{number}"
        columns = "{" + ", ".join(f"{literal(name)}: 'VARCHAR'" for name in self.names) + "}"
        drop_temp(con, errors, CSV_SCANS)
        con.execute(
            f"create or replace temp table {self.read_table(number)} as select * from read_csv("
            f"{literal(str(file))}, columns = {columns}, header = {str(options.header).lower()}, "
            f"delim = {literal(options.delimiter)}, quote = {literal(options.quote)}, "
            f"escape = {literal(options.quote)}, auto_detect = false, strict_mode = true, store_rejects = true, "
            f"rejects_table = '{errors}', rejects_scan = '{CSV_SCANS}', max_line_size = {MAX_LINE_SIZE}, "
            f"buffer_size = {BUFFER_SIZE})"
        )
        # One quarantine row per malformed line (DuckDB may report several errors for one line).
        con.execute(
            f"""
            create or replace temp table {self.rejects(number)} as
            select line as {ROW_NUMBER}, null::varchar as {SOURCE_LOCATION}, 'parse_error' as {quarantine.RULE},
                'line ' || line || ' of ' || {literal(str(self.path))} || ' is not valid CSV with '
                    || {literal(repr(options.delimiter))} || ' as delimiter: '
                    || string_agg(distinct lower(error_type) || ' (' || error_message || ')', '; ')
                    as {quarantine.REASON},
                trim(first(csv_line), chr(13) || chr(10)) as {quarantine.RECORD}
            from {errors} group by line
            """
        )
        # A record that runs over line breaks and is still malformed: a quote opened and never closed.
        fold = con.execute(
            f"select line, line_byte_position from {errors} where line > {self.header_lines} and "
            "(regexp_matches(trim(csv_line, chr(13) || chr(10)), '[\r\n]') or error_type = 'LINE SIZE OVER MAXIMUM')"
            " order by line_byte_position limit 1"
        ).fetchone()
        return (int(fold[0]), int(fold[1])) if fold else None

    def numbered(self, number: int, data: str) -> str:
        """The segment's rows with their record numbers: the numbers its malformed lines leave free, so that
        (batch, row number) is unique across raw and quarantine."""
        header_lines, rejects = self.header_lines, self.rejects(number)
        return f"""
            with rejected as (
                select {ROW_NUMBER} - {header_lines} - row_number() over (order by {ROW_NUMBER}) as good_before,
                       row_number() over (order by {ROW_NUMBER}) as j
                from {rejects} where {ROW_NUMBER} > {header_lines}
            ), steps as (
                select good_before, max(j) as j from rejected group by good_before
            ), read as (
                select rowid + 1 as k, * from {self.read_table(number)}
            )
            select {header_lines} + read.k + coalesce(steps.j, 0) as {ROW_NUMBER}, {data}
            from read asof left join steps on read.k > steps.good_before
        """

    def broken(self, row_number: int, line: bytes) -> None:
        """Hold the broken record's own line (what the reader would have swallowed is read again)."""
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        quote = self.ctx.table.csv.quote
        self.ctx.con.execute(
            f"insert into {self.broken_table} values (?, null, 'unclosed_quote', ?, ?)",
            [
                row_number,
                f"line {row_number} of {self.path} opens a quote ({quote!r}) that is never closed, which would "
                "take every later line into one value: this line is quarantined and reading goes on after it",
                text,
            ],
        )


def _header_bytes(file: Path) -> bytes:
    with file.open("rb") as handle:
        return handle.readline()


def _line_at(file: Path, position: int) -> bytes:
    with file.open("rb") as handle:
        handle.seek(position)
        return handle.readline()


def _rest_of(ctx: TableContext, file: Path, header: bytes, position: int, number: int) -> Path:
    """A copy of the file from `position` on, after its header line: the part still to read after a broken
    record."""
    target = ctx.tmpdir / f"{ctx.source.name}.{ctx.table.name}.rest{number}.csv"
    with file.open("rb") as source, target.open("wb") as rest:
        rest.write(header)
        source.seek(position)
        shutil.copyfileobj(source, rest, 1024 * 1024)
    return target


# -- JSON ----------------------------------------------------------------------------------------------------
def _stage_jsonl(ctx: TableContext, path: Path, readable: Path) -> None:
    """One JSON object a line; the line number is the row number; blank lines are skipped."""
    con = ctx.con
    con.execute(
        f"create or replace temp table {LINES} as select line from read_csv({literal(str(readable))}, "
        f"columns = {{'line': 'VARCHAR'}}, header = false, auto_detect = false, "
        f"delim = {literal(_LINE_DELIMITER)}, quote = '', escape = '', strict_mode = false, "
        f"max_line_size = {MAX_LINE_SIZE}, buffer_size = {BUFFER_SIZE})"
    )
    # CASE, not AND: DuckDB does not promise to evaluate json_valid first.
    good = "coalesce(case when json_valid(line) then json_type(line) = 'OBJECT' end, false)"
    con.execute(
        f"create or replace temp table {RECORDS} as select rowid + 1 as {ROW_NUMBER}, "
        f"null::varchar as {SOURCE_LOCATION}, case when {good} then line::json end as rec "
        f"from {LINES} where {good}"
    )
    con.execute(
        f"""
        create or replace temp table {REJECTS} as
        select rowid + 1 as {ROW_NUMBER}, null::varchar as {SOURCE_LOCATION},
            case when json_valid(line) then 'not_an_object' else 'parse_error' end as {quarantine.RULE},
            'line ' || (rowid + 1) || ' of ' || {literal(str(path))} || (case when json_valid(line)
                then ' is a JSON ' || lower(json_type(line)) || ', not an object'
                else ' is not valid JSON' end) as {quarantine.REASON},
            line as {quarantine.RECORD}
        from {LINES} where trim(line) <> '' and not ({good})
        """
    )
    stage_json_records(ctx)


def _stage_json(ctx: TableContext, path: Path, readable: Path) -> None:
    """A JSON document: a list of objects, an object with the list under `records_field`, or one object."""
    con = ctx.con
    con.execute(
        f"create or replace temp table {PAGES} as select 1 as page_no, {literal(str(path))} as url, "
        f"content as body from read_text({literal(str(readable))})"
    )
    stage_pages(ctx, PAGES, ctx.table.records_field, "url")
    stage_json_records(ctx)


# -- Parquet -------------------------------------------------------------------------------------------------
def _stage_parquet(ctx: TableContext, path: Path) -> None:
    ctx.con.execute(
        f"create or replace temp table {STAGE} as select file_row_number + 1 as {ROW_NUMBER}, "
        f"* exclude (file_row_number) from read_parquet({literal(str(path))}, file_row_number = true)"
    )
    create_empty_rejects(ctx.con)
