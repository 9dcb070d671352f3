"""The quality gate: validate every batch not validated yet, quarantine bad rows, reject broken batches.

    from expectations.runner import validate
    report = validate(config, run_id, as_of=run_started_at)
    report.blocked      # a batch was rejected: stop before resolution and publishing (exit code 4)
    report.summary()    # per source table: checked, passed, quarantined, rejected
    report.render()     # a rich renderable for the CLI

For each pending batch (meta.batches.validated_at is null), in load order, per raw table:

1. profile it in DuckDB (rows, filled values per column) and compare with the table's accepted history: which
   columns it delivered, which are missing, which are new, how its volume compares;
2. build the table's suite for this batch (expectations/suites/<source>__<table>.py or the generic default);
3. materialise the batch with the suite's derived columns as an Arrow table; hand it to GX as a pandas frame;
4. select the rows every row-level rule flags with the rule's SQL predicate (expectations/sql.py),
   cross-checked against GX's unexpected counts, and write them to quarantine.<source>__<table> (stage
   `quality`);
5. reject the batch when a batch-level rule fails or too many rows are bad: meta.batches.status = 'rejected',
   so staging (macro c360_valid_rows) leaves all its rows out;
6. record the outcome on the batch (validated_at, quality), all in one transaction per batch.

Re-running adds nothing: a validated batch is never validated again (`c360 quarantine release --batch` is the
one deliberate exception). GX Data Docs are written under <data_dir>/reports/quality/ (see
expectations/context.py).
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from customer360.core import quarantine, warehouse
from customer360.core.config import Config, TableConfig
from customer360.core.warehouse import BATCH_ID, META, ROW_NUMBER, SOURCE_LOCATION, quote_identifier
from expectations.report import (
    EMPTY,
    PASSED,
    QUARANTINED,
    REJECTED,
    BatchResult,
    MartResult,
    QualityReport,
    RuleResult,
)
from expectations.settings import QualitySettings, load_settings

log = logging.getLogger(__name__)

PENDING_STATUSES = ("loaded", "empty")
ROWS = "_c360_quality_rows"  # registered Arrow table: the batch being checked, with derived columns


def q(name: str) -> str:
    return quote_identifier(name)


# -- entry points --------------------------------------------------------------------------------------------


def validate(
    config: Config,
    run_id: str,
    *,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> QualityReport:
    """Validate every batch not validated yet. Never raises for bad data: see `report.blocked`."""
    started = time.perf_counter()
    report = QualityReport(run_id=run_id)
    with _connection(config, con) as connection:
        warehouse.ensure_schemas(connection, config)
        pending = _pending_batches(connection)
        if pending:
            gate = Gate(connection, config, settings or load_settings(config), _utc(as_of), run_id)
            for (source, table), batches in _by_table(pending).items():
                report.batches.extend(gate.check_table(source, table, batches))
            report.seconds = time.perf_counter() - started
            report.docs = gate.finish(report)
    report.seconds = time.perf_counter() - started
    _log(report)
    return report


def validate_marts(
    config: Config,
    run_id: str,
    *,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> QualityReport:
    """Check the key marts (suites marts__<table>.py) after they are built, before they are published.

    A mart that does not exist (yet) is skipped. Nothing is quarantined: a failure means "do not publish".
    """
    from expectations.suites import MART_TABLES, find_module

    started = time.perf_counter()
    report = QualityReport(run_id=run_id)
    with _connection(config, con) as connection:
        gate: Gate | None = None
        for table in MART_TABLES:
            module = find_module("marts", table)
            if module is None or not warehouse.table_exists(connection, warehouse.MARTS, table):
                report.marts.append(MartResult(table, 0, True, skipped=True))
                continue
            gate = gate or Gate(connection, config, settings or load_settings(config), _utc(as_of), run_id)
            report.marts.append(gate.check_mart(table, module.build))
        if gate is not None:
            report.docs = gate.finish(report)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _connection(config: Config, con: duckdb.DuckDBPyConnection | None) -> Iterator[duckdb.DuckDBPyConnection]:
    if con is not None:
        yield con
    else:
        with warehouse.session(config) as own:
            yield own


def _utc(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _log(report: QualityReport) -> None:
    for name, row in sorted(report.tables().items()):
        log.info(
            "quality %s: %s rows checked, %s passed, %s quarantined, %s batch(es) rejected",
            name,
            f"{row['checked']:,}",
            f"{row['passed']:,}",
            f"{row['quarantined']:,}",
            row["rejected_batches"],
        )
    for batch in report.rejected:
        log.warning("quality %s: batch %s rejected: %s", batch.name, batch.batch_id, "; ".join(batch.reasons))


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


_BATCH_COLUMNS = "batch_id, source_name, table_name, location, status, rows_rejected, loaded_at, message"


def _pending_batches(con: duckdb.DuckDBPyConnection) -> list[PendingBatch]:
    statuses = ", ".join(f"'{s}'" for s in PENDING_STATUSES)
    rows = con.execute(
        f"select {_BATCH_COLUMNS} from {META}.batches where validated_at is null and status in ({statuses}) "
        "order by loaded_at, batch_id"
    ).fetchall()
    return [PendingBatch(*row) for row in rows]


def batch_by_id(con: duckdb.DuckDBPyConnection, batch_id: str) -> PendingBatch | None:
    row = con.execute(f"select {_BATCH_COLUMNS} from {META}.batches where batch_id = ?", [batch_id]).fetchone()
    return PendingBatch(*row) if row else None


def _by_table(batches: Sequence[PendingBatch]) -> dict[tuple[str, str], list[PendingBatch]]:
    grouped: dict[tuple[str, str], list[PendingBatch]] = {}
    for batch in batches:
        grouped.setdefault((batch.source, batch.table), []).append(batch)
    return grouped


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
    where = ""
    params: list[Any] = [source, table]
    if before is not None:
        where = " and batch_id <> ? and (loaded_at, batch_id) < (?, ?)"
        params += [before.batch_id, before.loaded_at, before.batch_id]
    rows = con.execute(
        f"select quality from {META}.batches where source_name = ? and table_name = ? "
        f"and validated_at is not null and status <> 'rejected' and quality is not null{where} "
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


# -- the gate ------------------------------------------------------------------------------------------------


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


class Gate:
    """One gate run on an open warehouse connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        config: Config,
        settings: QualitySettings,
        as_of: datetime,
        run_id: str,
    ) -> None:
        self.con = con
        self.config = config
        self.settings = settings
        self.as_of = as_of
        self.run_id = run_id
        self._gx: Any = None
        self._counts: dict[str, int] = {}
        con.execute("set enable_progress_bar = false")

    @property
    def gx(self) -> Any:
        if self._gx is None:
            from expectations.context import GxSession, quality_dir

            self._gx = GxSession(quality_dir(self.config))
        return self._gx

    def finish(self, report: QualityReport) -> Any:
        """Write Data Docs and the run's summary; returns the Data Docs index."""
        from expectations.context import quality_dir

        docs = self.gx.build_docs() if self._gx is not None else None
        runs = quality_dir(self.config) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        report.docs = docs
        (runs / f"{self.run_id}.json").write_text(json.dumps(report.summary(), indent=2, default=str), "utf-8")
        return docs

    # -- raw tables ------------------------------------------------------------------------------------------

    def table_info(self, source: str, table: str) -> TableInfo:
        table_config = None
        try:
            table_config = self.config.source(source).table(table)
        except Exception:  # noqa: BLE001 - a table without configuration is still gated (generic suite)
            table_config = None
        schema = f"raw_{source}"
        exists = warehouse.table_exists(self.con, schema, table)
        columns = [c for c in warehouse.table_columns(self.con, schema, table) if not c.startswith("_c360_")]
        return TableInfo(source, table, schema, exists, columns, table_config)

    def _profile(self, info: TableInfo, batch_ids: Sequence[str]) -> dict[str, tuple[int, dict[str, int]]]:
        """batch → (rows, filled values per column), one scan for all batches of the table."""
        if not info.exists or not batch_ids:
            return {}
        counts = ", ".join(f"count({q(c)})" for c in info.columns)
        placeholders = ", ".join("?" for _ in batch_ids)
        rows = self.con.execute(
            f"select {BATCH_ID}, count(*){', ' + counts if counts else ''} from {info.relation} "
            f"where {BATCH_ID} in ({placeholders}) group by 1",
            list(batch_ids),
        ).fetchall()
        return {row[0]: (int(row[1]), dict(zip(info.columns, map(int, row[2:]), strict=True))) for row in rows}

    def check_table(
        self,
        source: str,
        table: str,
        batches: Sequence[PendingBatch],
        *,
        force: bool = False,
        history: History | None = None,
    ) -> list[BatchResult]:
        info = self.table_info(source, table)
        profiles = self._profile(info, [b.batch_id for b in batches])
        history = history or table_history(self.con, source, table, self.settings.history_batches)
        results = []
        pending = [profiles.get(b.batch_id, (0, {})) for b in batches]
        for batch in batches:
            result, accepted_columns = self.check_batch(
                info,
                batch,
                profiles.get(batch.batch_id, (0, {})),
                history,
                pending,
                force=force,
                latest=batch is batches[-1],
            )
            if not result.rejected:
                rows, filled = profiles.get(batch.batch_id, (0, {}))
                history.accept(accepted_columns, rows, filled)
            results.append(result)
        return results

    # -- one batch -------------------------------------------------------------------------------------------

    def _delivered(
        self,
        info: TableInfo,
        profile: tuple[int, dict[str, int]],
        history: History,
        pending: list[tuple[int, dict[str, int]]],
    ) -> tuple[list[str], list[str], list[str]]:
        """(columns the batch delivered, baseline columns it misses, new columns with values).

        A raw table holds the union of every delivery's columns, so an empty column may mean "not delivered"
        or "nothing to say". It counts as not delivered when the chance of it being empty by accident, given
        how often it is filled elsewhere, is below `missing_column_chance`.
        """
        rows, filled = profile
        baseline = history.baseline(self.settings.history_batches)
        threshold = math.log(self.settings.missing_column_chance)

        def fill_rate(column: str) -> float | None:
            if column in baseline.fill and baseline.batches:
                return baseline.fill[column]
            present = [(n, f.get(column, 0)) for n, f in pending if f.get(column, 0) > 0]
            total = sum(n for n, _ in present)
            return sum(v for _, v in present) / total if total else None

        def absent(column: str) -> bool:
            if filled.get(column, 0) > 0 or rows == 0:
                return False
            p = fill_rate(column)
            if not p or p < self.settings.missing_column_min_fill:
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

    def check_batch(
        self,
        info: TableInfo,
        batch: PendingBatch,
        profile: tuple[int, dict[str, int]],
        history: History,
        pending: list[tuple[int, dict[str, int]]],
        *,
        force: bool = False,
        latest: bool = True,
    ) -> tuple[BatchResult, list[str]]:
        from expectations.kit import SuiteContext
        from expectations.suites import builder_for

        started = time.perf_counter()
        rows, filled = profile
        delivered, missing, new = self._delivered(info, profile, history, pending)
        build, module = builder_for(info.source, info.table)
        ctx = SuiteContext(
            source=info.source,
            table=info.table,
            as_of=self.as_of,
            settings=self.settings,
            table_config=info.table_config,
            rows=rows,
            columns=tuple(delivered),
            missing=tuple(missing),
            new=tuple(new),
            baseline=history.baseline(self.settings.history_batches),
            schema=info.schema,
            batch_id=batch.batch_id,
            latest=latest,
        )
        suite = build(ctx)
        result = BatchResult(
            info.source,
            info.table,
            batch.batch_id,
            batch.location,
            module,
            rows=rows,
            ingest_rejected=int(batch.rows_rejected or 0),
        )
        checks = BatchChecks(suite, ctx)
        frame_columns = checks.prepare(self.con, info, batch.batch_id, delivered)
        try:
            frame = checks.frame(frame_columns)
            validation = self.gx.validate(checks.suite, frame, run_name=f"{self.run_id}.{batch.batch_id}")
            result.rules = checks.rules(validation)
            del frame, validation  # the SQL steps below need only the Arrow rows: free the frame's NumPy copies now
            counts, union = checks.sql_counts(self.con) if rows else ({}, 0)
            self._counts = counts
            checks.cross_check(result, counts)
            self._decide(result, checks, union, missing, new, force=force)
            self._record(info, batch, result, checks, profile, history, delivered, force=force)
        finally:
            checks.release(self.con)
        result.seconds = time.perf_counter() - started
        return result, delivered

    def _decide(
        self,
        result: BatchResult,
        checks: BatchChecks,
        union: int,
        missing: list[str],
        new: list[str],
        *,
        force: bool,
    ) -> None:
        settings = self.settings
        for rule in result.rules:
            if rule.success:
                continue
            if rule.action == "warn":
                result.warnings.append(f"{rule.rule}: {rule.message}")
            else:
                result.reasons.append(f"{rule.rule}: {rule.message}")
        bad = union + result.ingest_rejected
        total = result.rows + result.ingest_rejected
        allowed = max(settings.min_bad_rows, settings.max_bad_share * total)
        if total and bad > allowed:
            result.reasons.append(
                f"bad_row_share: {bad:,} of {total:,} rows ({bad / total:.1%}) failed row-level checks or "
                f"could not be parsed, more than the {settings.max_bad_share:.0%} a delivery may lose to "
                "quarantine"
            )
        if missing and not any(r.startswith("schema_stable") for r in result.reasons):
            result.warnings.append(f"columns missing from the delivery: {', '.join(missing)}")
        if new and settings.allow_new_columns:
            result.warnings.append(f"new columns in the delivery: {', '.join(new)}")
        if result.reasons and not force:
            result.status = REJECTED
        elif result.rows == 0:
            result.status = EMPTY
        else:
            result.status = PASSED
        if force and result.reasons:
            result.warnings.extend(f"accepted despite {reason}" for reason in result.reasons)
            result.reasons = []

    def _record(
        self,
        info: TableInfo,
        batch: PendingBatch,
        result: BatchResult,
        checks: BatchChecks,
        profile: tuple[int, dict[str, int]],
        history: History,
        delivered: list[str],
        *,
        force: bool,
    ) -> None:
        rows, filled = profile
        accepted_columns = sorted(set(history.columns or ()) | set(delivered))
        con = self.con
        con.execute("begin transaction")
        try:
            quarantine.ensure_table(con, info.source, info.table)  # exists for every gated table
            if not result.rejected and result.rows:
                written = checks.quarantine_rows(con, info, self.as_of, self._counts)
                for rule in result.rules:
                    rule.quarantined = written.get(rule.rule, 0)
                result.quarantined_rows = checks.quarantined_rows(con, info)
                if result.quarantined_rows:
                    result.status = QUARANTINED
            quality = {
                "run_id": self.run_id,
                "suite": result.suite,
                "result": result.status,
                "rows": rows,
                "filled": filled,
                "columns": accepted_columns if not result.rejected else list(history.columns or []),
                "quarantined": result.quarantined_rows,
                "rules": {r.rule: r.quarantined for r in result.rules if r.quarantined},
                "failed": [r.rule for r in result.rules if not r.success],
                "reasons": result.reasons,
                "warnings": result.warnings,
                "status_before": batch.status if batch.status != "rejected" else None,
                "forced": force or None,
            }
            previous = _previous_quality(con, batch.batch_id)
            if previous.get("status_before") and batch.status == "rejected":
                quality["status_before"] = previous["status_before"]
            restored = quality["status_before"] or ("loaded" if rows else "empty")
            status = "rejected" if result.rejected else (restored if batch.status == "rejected" else batch.status)
            message = batch.message
            if result.rejected:
                message = "quality gate: " + "; ".join(result.reasons)
            elif batch.status == "rejected":
                message = "accepted by release" + (" (forced)" if force else "") + f" in {self.run_id}"
            con.execute(
                f"update {META}.batches set validated_at = ?, quality = ?, status = ?, message = ? where batch_id = ?",
                [self.as_of, json.dumps(quality, default=str), status, message, batch.batch_id],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise

    # -- marts -----------------------------------------------------------------------------------------------

    def check_mart(self, table: str, build: Any) -> MartResult:
        from expectations.kit import SuiteContext

        relation = f"{q(warehouse.MARTS)}.{q(table)}"
        rows = int(self.con.execute(f"select count(*) from {relation}").fetchone()[0])  # type: ignore[index]
        columns = warehouse.table_columns(self.con, warehouse.MARTS, table)
        ctx = SuiteContext(
            source="marts",
            table=table,
            as_of=self.as_of,
            settings=self.settings,
            rows=rows,
            columns=tuple(columns),
            schema=warehouse.MARTS,
        )
        checks = BatchChecks(build(ctx), ctx)
        checks.drop_inapplicable(set(columns), rows)
        frame = to_frame(self.con.execute(f"select * from {relation}"))
        validation = self.gx.validate(checks.suite, frame, run_name=f"{self.run_id}.marts")
        rules = checks.rules(validation)
        result = MartResult(table, rows, True)
        for rule in rules:
            if rule.success:
                continue
            (result.warnings if rule.action == "warn" else result.reasons).append(f"{rule.rule}: {rule.message}")
        result.success = not result.reasons
        return result


def arrow_table(cursor: duckdb.DuckDBPyConnection) -> Any:
    table = cursor.to_arrow_table() if hasattr(cursor, "to_arrow_table") else cursor.arrow()
    return table.read_all() if hasattr(table, "read_all") else table


def to_frame(cursor: duckdb.DuckDBPyConnection) -> Any:
    return arrow_to_frame(arrow_table(cursor))


def arrow_to_frame(table: Any) -> Any:
    """Arrow → pandas, text as Arrow-backed strings.

    GX filters the whole frame for every expectation; Arrow strings are copied without touching a Python
    object per value (3-5× faster than object columns). Numbers and timestamps stay NumPy-backed: GX compares
    them vectorised.
    """
    import pandas as pd
    import pyarrow as pa

    def mapper(kind: pa.DataType) -> Any:
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view":
            return pd.StringDtype("pyarrow")
        return None

    return table.to_pandas(types_mapper=mapper)


def _previous_quality(con: duckdb.DuckDBPyConnection, batch_id: str) -> dict[str, Any]:
    row = con.execute(f"select quality from {META}.batches where batch_id = ?", [batch_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


# -- one suite applied to one batch --------------------------------------------------------------------------


@dataclass
class _RowRule:
    rule: str
    action: str
    predicate: Any  # sql.Predicate
    reason: str  # SQL expression


class BatchChecks:
    """A suite, trimmed to what applies to the batch, with the SQL of its row-level rules."""

    def __init__(self, suite: Any, ctx: Any) -> None:
        from expectations import kit

        self.suite = suite
        self.ctx = ctx
        self.derived = kit.derived_columns(suite)
        self.declared = kit.declared_columns(suite)
        self.skipped: list[str] = []
        self.row_rules: list[_RowRule] = []
        self.rows: Any = None  # pyarrow.Table, from prepare() until release()

    # GX needs every column an expectation reads; a missing column is reported by the schema checks instead.
    def drop_inapplicable(self, columns: set[str], rows: int) -> None:
        import great_expectations as gx

        from expectations import kit, sql

        keep = []
        for expectation in self.suite.expectations:
            kind = sql.expectation_type(expectation)
            if rows == 0 and not (kind.startswith("expect_table_row_count")):
                continue
            needed = [c for c in sql.columns_of(expectation) if c not in columns]
            if needed and kind != "expect_column_to_exist":
                self.skipped.append(f"{kit.rule_of(expectation)} (column {', '.join(needed)} not delivered)")
                continue
            keep.append(expectation)
        if len(keep) != len(self.suite.expectations):
            self.suite = gx.ExpectationSuite(name=self.suite.name, expectations=keep, meta=self.suite.meta)

    def prepare(
        self, con: duckdb.DuckDBPyConnection, info: TableInfo, batch_id: str, delivered: list[str]
    ) -> list[str]:
        """Materialise the batch with its derived columns (Arrow, registered as ROWS); returns the frame's columns."""
        from expectations import kit, sql

        absent = [c for c in self.declared if c not in info.columns]
        data = [q(c) for c in info.columns] + [f"cast(null as varchar) as {q(c)}" for c in absent]
        derived = [f"({spec['sql']}) as {q(name)}" for name, spec in self.derived.items()]
        if info.exists:
            base = (
                f"select {BATCH_ID}, {ROW_NUMBER}, {SOURCE_LOCATION}, {', '.join(data)} from {info.relation} "
                f"where {BATCH_ID} = {sql.literal(batch_id)}"
            )
        else:
            base = (
                f"select cast(null as varchar) as {BATCH_ID}, cast(null as bigint) as {ROW_NUMBER}, "
                f"cast(null as varchar) as {SOURCE_LOCATION}, {', '.join(data) or 'null as _c360_none'} "
                "where false"
            )
        # The batch lives once, in Arrow: DuckDB reads it for the SQL counts and the quarantine, and the pandas
        # frame for GX shares its strings. A DuckDB temp table beside the frame would hold the largest batch twice.
        self.rows = arrow_table(
            con.execute(
                f"select source_rows.*{', ' + ', '.join(derived) if derived else ''} from ({base}) as source_rows"
            )
        )
        con.register(ROWS, self.rows)
        frame_columns = [*kit.IDENTITY_COLUMNS, *delivered, *self.derived]
        for expectation in self.suite.expectations:
            # the frame always carries the row identity and the derived columns besides the delivered ones
            if sql.expectation_type(expectation) == "expect_table_columns_to_match_set":
                extra = [c for c in [*kit.IDENTITY_COLUMNS, *self.derived] if c not in expectation.column_set]
                expectation.column_set = [*expectation.column_set, *extra]
        self.drop_inapplicable(set(frame_columns), self.ctx.rows)
        for slot, expectation in enumerate(self.suite.expectations):
            if kit.action_of(expectation) != "quarantine":
                continue
            predicate = sql.predicate(expectation, slot)
            column = getattr(expectation, "column", None)
            spec = self.derived.get(column or "", {})
            shows = spec.get("shows") or (column if column in info.columns or column in self.derived else None)
            label = spec.get("shows") or column
            reason = sql.reason_sql(
                kit.reason_of(expectation), column=column, label=label, shown=shows, facts=predicate.facts
            )
            location = f"' (row ' || {ROW_NUMBER} || coalesce(' of ' || {SOURCE_LOCATION}, '') || ')'"
            self.row_rules.append(
                _RowRule(
                    kit.rule_of(expectation) or f"rule_{slot}",
                    "quarantine",
                    predicate,
                    f"{reason} || {location}",
                )
            )
        self.record_sql = (
            "to_json(struct_pack(" + ", ".join(f"{q(c)} := {q(c)}" for c in info.columns) + "))"
            if info.columns
            else "'{}'"
        )
        return frame_columns

    def frame(self, columns: list[str]) -> Any:
        return arrow_to_frame(self.rows.select(columns))

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        con.unregister(ROWS)
        self.rows = None

    def rules(self, validation: Any) -> list[RuleResult]:
        from expectations import kit

        results = []
        for item in validation.results:
            config = item.expectation_config
            meta = (config.meta or {}).get(kit.META_KEY) or {}
            result = dict(item.result or {})
            exception = item.exception_info or {}
            raised = exception.get("raised_exception") or any(
                isinstance(v, dict) and v.get("raised_exception") for v in exception.values()
            )
            rule = RuleResult(
                rule=meta.get("rule") or config.type,
                action=meta.get("action", "block"),
                expectation=config.type,
                column=config.kwargs.get("column"),
                success=bool(item.success),
                unexpected=result.get("unexpected_count"),
                observed=result.get("observed_value"),
                sample=list(result.get("partial_unexpected_list") or [])[:5],
            )
            label = (self.derived.get(rule.column or "") or {}).get("shows") or rule.column
            text = _plain(meta.get("reason") or "", label)
            rule.message = _describe(rule, text, result, exception if raised else None, self.ctx.settings)
            results.append(rule)
        return results

    def windows_sql(self) -> str:
        windows = {name: expr for rule in self.row_rules for name, expr in rule.predicate.windows.items()}
        extra = ", ".join(f"{expr} as {name}" for name, expr in windows.items())
        return f"select *{', ' + extra if extra else ''} from {ROWS}"

    def sql_counts(self, con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
        """Rows each row-level rule flags, and rows flagged by any (one scan)."""
        if not self.row_rules:
            return {}, 0
        counts = ", ".join(f"count(*) filter (where {r.predicate.unexpected})" for r in self.row_rules)
        any_rule = " or ".join(f"({r.predicate.unexpected})" for r in self.row_rules)
        row = con.execute(
            f"with checked as ({self.windows_sql()}) select {counts}, count(*) filter (where {any_rule}) from checked"
        ).fetchone()
        assert row is not None
        return {r.rule: int(n) for r, n in zip(self.row_rules, row[:-1], strict=True)}, int(row[-1])

    def cross_check(self, result: BatchResult, counts: dict[str, int]) -> None:
        for rule in result.rules:
            if rule.rule in counts:
                rule.sql_count = counts[rule.rule]
                if rule.unexpected is not None and rule.unexpected != rule.sql_count:
                    message = (
                        f"rule {rule.rule}: GX counted {rule.unexpected:,} unexpected rows, its SQL predicate"
                        f" {rule.sql_count:,} (please report: expectations/sql.py disagrees with GX)"
                    )
                    result.mismatches.append(message)
                    log.error("quality %s batch %s: %s", result.name, result.batch_id, message)

    def selection_sql(self, info: TableInfo, rules: Sequence[_RowRule] | None = None) -> str:
        """SELECT yielding quarantine.ROW_COLUMNS for every (row, rule) that fails, minus what is recorded."""
        target = quarantine.qualified_name(info.source, info.table)
        parts = []
        quality = quarantine.STAGE_QUALITY
        for rule in rules if rules is not None else self.row_rules:
            recorded = (
                f"select 1 from {target} as known where known.{BATCH_ID} = checked.{BATCH_ID} "
                f"and known.{ROW_NUMBER} = checked.{ROW_NUMBER} and known.{quarantine.RULE} = '{rule.rule}' "
                f"and known.{quarantine.STAGE} = '{quality}'"
            )
            parts.append(
                f"select {BATCH_ID}, {ROW_NUMBER}, {SOURCE_LOCATION}, '{rule.rule}' as {quarantine.RULE}, "
                f"{rule.reason} as {quarantine.REASON}, {self.record_sql} as {quarantine.RECORD} "
                f"from checked where ({rule.predicate.unexpected}) and not exists ({recorded})"
            )
        return f"with checked as ({self.windows_sql()}) " + " union all ".join(parts)

    def quarantine_rows(
        self,
        con: duckdb.DuckDBPyConnection,
        info: TableInfo,
        at: datetime,
        counts: dict[str, int] | None = None,
    ) -> dict[str, int]:
        """Write the failing (row, rule) pairs; `counts` (from sql_counts) skips rules that flag nothing."""
        rules = [r for r in self.row_rules if counts is None or counts.get(r.rule, 1) > 0]
        quarantine.ensure_table(con, info.source, info.table)
        if rules:
            quarantine.insert(
                con,
                info.source,
                info.table,
                self.selection_sql(info, rules),
                stage=quarantine.STAGE_QUALITY,
                quarantined_at=at,
            )
        batch = self._batch_id(con)
        rows = con.execute(
            f"select {quarantine.RULE}, count(*) from {quarantine.qualified_name(info.source, info.table)} "
            f"where {BATCH_ID} = ? and {quarantine.STAGE} = '{quarantine.STAGE_QUALITY}' group by 1",
            [batch],
        ).fetchall()
        return {rule: int(n) for rule, n in rows}

    def quarantined_rows(self, con: duckdb.DuckDBPyConnection, info: TableInfo) -> int:
        if not warehouse.table_exists(con, warehouse.QUARANTINE, quarantine.table_name(info.source, info.table)):
            return 0
        row = con.execute(
            f"select count(distinct {ROW_NUMBER}) from {quarantine.qualified_name(info.source, info.table)} "
            f"where {BATCH_ID} = ? and {quarantine.STAGE} = '{quarantine.STAGE_QUALITY}' "
            f"and {quarantine.RELEASED_AT} is null",
            [self._batch_id(con)],
        ).fetchone()
        return int(row[0]) if row else 0

    def _batch_id(self, con: duckdb.DuckDBPyConnection) -> str | None:
        return self.ctx.batch_id


def _describe(
    rule: RuleResult,
    text: str,
    result: dict[str, Any],
    exception: dict[str, Any] | None,
    settings: QualitySettings,
) -> str:
    """A sentence for a failed (or flagged) rule: what was expected, what was found, an example."""
    if exception:
        messages = [exception.get("exception_message")] + [
            v.get("exception_message") for v in exception.values() if isinstance(v, dict)
        ]
        detail = next((m for m in messages if m), "unknown error")
        return f"the check could not run: {detail}"
    details = (result.get("details") or {}).get("mismatched") or {}
    if details:
        parts = []
        if details.get("unexpected"):
            parts.append("new column(s) " + ", ".join(details["unexpected"]))
        if details.get("missing"):
            parts.append("missing column(s) " + ", ".join(details["missing"]))
        return f"{text}: {'; '.join(parts)}"
    unexpected, elements = result.get("unexpected_count"), result.get("element_count")
    if unexpected is not None and elements:
        sample = ", ".join(repr(v) for v in rule.sample[:3])
        example = f"; e.g. {sample}" if sample else ""
        share = f"{unexpected:,} of {elements:,} rows ({unexpected / elements:.1%})"
        if rule.action == "quarantine":
            return (
                f"{share} fail ({text}), more than the {settings.max_bad_share:.0%} a delivery may lose to "
                f"quarantine{example}"
            )
        return f"{text}: {share}{example}"
    observed = result.get("observed_value")
    return f"{text} (observed: {observed})" if observed is not None else text


def _plain(template: str, label: str | None) -> str:
    """A reason template without a row: `{column} {value} is not …` → `e_mail … is not …`."""
    return template.replace("{column}", label or "value").replace("{value}", "…").replace("{count}", "n")
