"""One suite applied to one batch: the batch materialised once (Arrow, with the suite's derived columns), the
Great Expectations validation, the SQL of every row-level rule (expectations/sql.py) with its counts cross-checked
against GX's, and the quarantine rows those rules select.

    checks = BatchChecks(suite, ctx)
    columns = checks.prepare(con, info, batch_id, delivered)      # registers the batch as ROWS
    rules = checks.rules(gx_session.validate(checks.suite, checks.frame(columns), run_name))
    counts, union = checks.sql_counts(con)
    mismatches = checks.cross_check(rules, counts)                 # a disagreement rejects the batch (gate.py)
    checks.quarantine_rows(con, info, at, counts)
    checks.release(con)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from customer360.core import quarantine, warehouse
from customer360.core.warehouse import BATCH_ID, ROW_NUMBER, SOURCE_LOCATION, quote_identifier
from expectations import messages
from expectations.history import TableInfo
from expectations.report import RuleResult

ROWS = "_c360_quality_rows"  # registered Arrow table: the batch being checked, with derived columns


def q(name: str) -> str:
    return quote_identifier(name)


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


@dataclass
class RowRule:
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
        self.row_rules: list[RowRule] = []
        self.rows: Any = None  # pyarrow.Table, from prepare() until release()
        self.readable: set[str] = set()  # columns of ROWS a reason or an example can quote
        self.record_sql = "'{}'"

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

    def take_row_counts(self, rows: int) -> list[str]:
        """Out of the suite, the expectations on the table's row count, decided on `rows` (the frame GX validates
        holds only part of the table): the reasons of those that fail."""
        import great_expectations as gx

        from expectations import kit, sql

        counted = [
            e for e in self.suite.expectations if sql.expectation_type(e) == "expect_table_row_count_to_be_between"
        ]
        self.suite = gx.ExpectationSuite(
            name=self.suite.name,
            expectations=[e for e in self.suite.expectations if e not in counted],
            meta=self.suite.meta,
        )
        failed = [
            e
            for e in counted
            if (e.min_value is not None and rows < e.min_value) or (e.max_value is not None and rows > e.max_value)
        ]
        return [f"{kit.rule_of(e)}: {kit.reason_of(e)} ({rows:,} rows)" for e in failed]

    def prepare(
        self, con: duckdb.DuckDBPyConnection, info: TableInfo, batch_id: str, delivered: list[str]
    ) -> list[str]:
        """Materialise the batch with its derived columns (Arrow, registered as ROWS); returns the frame's columns."""
        from expectations import kit, sql

        absent = [c for c in self.declared if c not in info.columns]
        data = [q(c) for c in info.columns] + [f"cast(null as varchar) as {q(c)}" for c in absent]
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
        # Derived columns are computed in stages: a later stage reads an earlier one's columns (`__given` once,
        # then the parsed values from it). The batch lives once, in Arrow: DuckDB reads it for the SQL counts and
        # the quarantine, and the pandas frame for GX shares its strings. A DuckDB temp table beside the frame
        # would hold the largest batch twice.
        query = base
        for stage in sorted({spec.get("stage", 0) for spec in self.derived.values()}):
            derived = [
                f"({spec['sql']}) as {q(name)}" for name, spec in self.derived.items() if spec.get("stage", 0) == stage
            ]
            query = f"select source_rows.*, {', '.join(derived)} from ({query}) as source_rows"
        if not self.derived:
            query = f"select * from ({base}) as source_rows"
        self.rows = arrow_table(con.execute(query))
        con.register(ROWS, self.rows)
        frame_columns = [*kit.IDENTITY_COLUMNS, *delivered, *self.derived]
        for expectation in self.suite.expectations:
            # the frame always carries the row identity and the derived columns besides the delivered ones
            if sql.expectation_type(expectation) == "expect_table_columns_to_match_set":
                extra = [c for c in [*kit.IDENTITY_COLUMNS, *self.derived] if c not in expectation.column_set]
                expectation.column_set = [*expectation.column_set, *extra]
        self.drop_inapplicable(set(frame_columns), self.ctx.rows)
        readable = self.readable = {*info.columns, *absent, *self.derived}
        for slot, expectation in enumerate(self.suite.expectations):
            if kit.action_of(expectation) != "quarantine":
                continue
            predicate = sql.predicate(expectation, slot)
            column = getattr(expectation, "column", None)
            shows, label = kit.shown_by(kit.note_of(expectation), column, self.derived)
            reason = sql.reason_sql(
                kit.reason_of(expectation),
                column=column,
                label=label,
                shown=shows if shows in readable else None,
                facts=predicate.facts,
            )
            location = f"' (row ' || {ROW_NUMBER} || coalesce(' of ' || {SOURCE_LOCATION}, '') || ')'"
            self.row_rules.append(
                RowRule(kit.rule_of(expectation) or f"rule_{slot}", "quarantine", predicate, f"{reason} || {location}")
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

    def rules(self, validation: Any, con: duckdb.DuckDBPyConnection | None = None) -> list[RuleResult]:
        """GX's validation result as one RuleResult per rule, with a sentence for each. With `con` (while the
        batch is registered), a rule checked on a derived yes/no column quotes example values of the column its
        reason shows instead of `False`."""
        from expectations import kit

        results = []
        for item in validation.results:
            config = item.expectation_config
            note = (config.meta or {}).get(kit.META_KEY) or {}
            result = dict(item.result or {})
            exception = item.exception_info or {}
            raised = exception.get("raised_exception") or any(
                isinstance(v, dict) and v.get("raised_exception") for v in exception.values()
            )
            rule = RuleResult(
                rule=note.get("rule") or config.type,
                action=note.get("action", "block"),
                expectation=config.type,
                column=config.kwargs.get("column"),
                success=bool(item.success),
                unexpected=result.get("unexpected_count"),
                observed=result.get("observed_value"),
                sample=list(result.get("partial_unexpected_list") or [])[:5],
            )
            shows, label = kit.shown_by(note, rule.column, self.derived)
            if con is not None and not rule.success and rule.sample and all(isinstance(v, bool) for v in rule.sample):
                rule.sample = self.examples(con, rule.rule, shows)
            text = messages.plain(note.get("reason") or "", label)
            rule.message = messages.describe(rule, text, result, exception if raised else None, self.ctx.settings)
            results.append(rule)
        return results

    def examples(self, con: duckdb.DuckDBPyConnection, rule: str, shows: str | None, limit: int = 3) -> list[Any]:
        """Up to `limit` values of `shows` in rows that fail `rule` (selected by the rule's SQL)."""
        from expectations import kit, sql

        expectation = next((e for e in self.suite.expectations if kit.rule_of(e) == rule), None)
        if expectation is None or shows not in self.readable:
            return []
        try:
            predicate = sql.predicate(expectation, 0)
        except sql.UnsupportedExpectation:
            return []
        windows = ", ".join(f"{expr} as {name}" for name, expr in predicate.windows.items())
        rows = con.execute(
            f"select {q(shows)} from (select *{', ' + windows if windows else ''} from {ROWS}) as checked "
            f"where ({predicate.unexpected}) and {q(shows)} is not null limit {int(limit)}"
        ).fetchall()
        return [value for (value,) in rows]

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

    @staticmethod
    def cross_check(rules: Sequence[RuleResult], counts: dict[str, int]) -> list[str]:
        """Record the SQL count on each row-level rule; returns a sentence per rule where GX and SQL disagree."""
        mismatches = []
        for rule in rules:
            if rule.rule in counts:
                rule.sql_count = counts[rule.rule]
                if rule.unexpected is not None and rule.unexpected != rule.sql_count:
                    mismatches.append(messages.mismatch(rule.rule, rule.unexpected, rule.sql_count))
        return mismatches

    def selection_sql(self, info: TableInfo, rules: Sequence[RowRule] | None = None) -> str:
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
        rows = con.execute(
            f"select {quarantine.RULE}, count(*) from {quarantine.qualified_name(info.source, info.table)} "
            f"where {BATCH_ID} = ? and {quarantine.STAGE} = '{quarantine.STAGE_QUALITY}' group by 1",
            [self.ctx.batch_id],
        ).fetchall()
        return {rule: int(n) for rule, n in rows}

    def quarantined_rows(self, con: duckdb.DuckDBPyConnection, info: TableInfo) -> int:
        if not warehouse.table_exists(con, warehouse.QUARANTINE, quarantine.table_name(info.source, info.table)):
            return 0
        row = con.execute(
            f"select count(distinct {ROW_NUMBER}) from {quarantine.qualified_name(info.source, info.table)} "
            f"where {BATCH_ID} = ? and {quarantine.STAGE} = '{quarantine.STAGE_QUALITY}' "
            f"and {quarantine.RELEASED_AT} is null",
            [self.ctx.batch_id],
        ).fetchone()
        return int(row[0]) if row else 0
