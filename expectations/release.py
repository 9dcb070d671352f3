"""Releasing quarantined rows (and rejected batches) after the source or the rules were corrected.

    c360 quarantine release sales.orders --rule customer_id_unknown  # the missing customers arrived since
    c360 quarantine release marketing.contacts --batch <id>          # re-check a rejected batch
    c360 quarantine release marketing.contacts --batch <id> --force  # accept it as delivered

Rows are re-checked first with the table's current suite: a row that still fails any row-level rule stays in
quarantine (the result says which rules and why); `--force` releases it anyway. Released rows get
`_c360_released_at`, which makes staging read them again on the next run. Rows quarantined at ingestion (stage
`ingest`) could not be parsed and are not in raw: they cannot be released, only delivered again.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from customer360.core import marts_builds, quarantine, warehouse
from customer360.core.config import Config
from customer360.core.warehouse import BATCH_ID, ROW_NUMBER
from expectations.checks import BatchChecks
from expectations.gate import Gate
from expectations.history import PendingBatch, TableInfo, batch_by_id, table_history
from expectations.report import RELOAD_HINT, BatchResult
from expectations.settings import QualitySettings, load_settings

CANDIDATES = "_c360_release_candidates"
FAILING = "_c360_release_failing"


@dataclass
class ReleaseResult:
    table: str
    selected: int = 0  # held rows the filter selected
    released: int = 0
    still_failing: Counter[str] = field(default_factory=Counter)  # rule -> rows that still fail it
    examples: list[str] = field(default_factory=list)  # reasons of rows that stay
    not_releasable: int = 0  # ingest-stage rows (never in raw)
    batches: list[BatchResult] = field(default_factory=list)  # rejected batches re-checked
    messages: list[str] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.selected - self.released


def release(
    config: Config,
    table: str,
    *,
    rule: str | None = None,
    batch: str | None = None,
    all_rows: bool = False,
    force: bool = False,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ReleaseResult:
    """Re-check and release held rows of one table (by rule, by batch, or all); a rejected batch named by
    `batch` is re-validated as a whole and accepted when it passes (or when forced)."""
    if not (rule or batch or all_rows):
        raise ValueError("say what to release: --rule RULE, --batch BATCH or --all")
    source, name = quarantine.parse_table(table)
    result = ReleaseResult(f"{source}.{name}")
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    settings = settings or load_settings(config)
    if con is None:
        with warehouse.session(config) as own:
            _release(own, config, source, name, rule, batch, force, now, settings, result)
            marts_builds.mark_inputs_stale(own)  # staging (and a project's views of raw rows) read them now
    else:
        _release(con, config, source, name, rule, batch, force, now, settings, result)
        marts_builds.mark_inputs_stale(con)
    return result


def _release(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    source: str,
    table: str,
    rule: str | None,
    batch: str | None,
    force: bool,
    now: datetime,
    settings: QualitySettings,
    result: ReleaseResult,
) -> None:
    warehouse.ensure_schemas(con, config)
    run_id = f"release-{now:%Y%m%dT%H%M%S}Z"
    gate = Gate(con, config, settings, now, run_id)
    if batch:
        record = batch_by_id(con, batch)
        if record is None or (record.source, record.table) != (source, table):
            raise ValueError(f"batch {batch} is not a batch of {source}.{table} (see `c360 quarantine list`)")
        if record.status == "rejected":
            _release_batch(gate, record, force, settings, result)
            return
    held = quarantine.rows(con, source, table, rule=rule, batch=batch, limit=None)
    result.not_releasable = sum(1 for row in held if row[quarantine.STAGE] == quarantine.STAGE_INGEST)
    if result.not_releasable:
        result.messages.append(
            f"{result.not_releasable} row(s) could not be parsed at ingestion (stage ingest): they are not "
            f"in raw, so they cannot be released; correct the source and deliver them again, or {RELOAD_HINT}"
        )
    releasable = (quarantine.STAGE_QUALITY, quarantine.STAGE_STAGING)  # rows that are in raw
    candidates = sorted({(r[BATCH_ID], r[ROW_NUMBER]) for r in held if r[quarantine.STAGE] in releasable})
    result.selected = len(candidates)
    if not candidates:
        if not result.batches:
            result.messages.append("nothing to release: no held rows match")
        return
    con.execute(f"create or replace temp table {CANDIDATES} ({BATCH_ID} varchar, {ROW_NUMBER} bigint)")
    con.executemany(f"insert into {CANDIDATES} values (?, ?)", [list(c) for c in candidates])
    con.execute(
        f"create or replace temp table {FAILING} ({BATCH_ID} varchar, {ROW_NUMBER} bigint, rule varchar, "
        "reason varchar)"
    )
    try:
        info = gate.table_info(source, table)
        if not info.exists:
            raise ValueError(f"raw_{source}.{table} does not exist: nothing to re-check")
        for batch_id in sorted({b for b, _ in candidates}):
            _recheck(gate, info, batch_id, now)
        for rule_name, count in con.execute(
            f"select rule, count(distinct {ROW_NUMBER}) from {FAILING} group by 1 order by 2 desc"
        ).fetchall():
            result.still_failing[rule_name] = int(count)
        result.examples = [r[0] for r in con.execute(f"select reason from {FAILING} order by all limit 5").fetchall()]
        keep = (
            ""
            if force
            else (f" where ({BATCH_ID}, {ROW_NUMBER}) not in (select ({BATCH_ID}, {ROW_NUMBER}) from {FAILING})")
        )
        con.execute("begin transaction")
        try:
            result.released = quarantine.release(
                con, source, table, f"select {BATCH_ID}, {ROW_NUMBER} from {CANDIDATES}{keep}", now
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.execute(f"drop table if exists {CANDIDATES}")
        con.execute(f"drop table if exists {FAILING}")
    if result.still_failing:
        rules = ", ".join(f"{r} ({n})" for r, n in result.still_failing.most_common())
        if force:
            result.messages.append(f"released despite failing the current rules: {rules}")
        else:
            result.messages.append(
                f"{result.kept} row(s) still fail and stay in quarantine: {rules}. Fix the source (a "
                "corrected row arrives as a new delivery), or release them as they are with --force"
            )


def _recheck(gate: Gate, info: TableInfo, batch_id: str, now: datetime) -> None:
    """Record in FAILING which candidate rows of one batch fail a row-level rule of the current suite."""
    con = gate.con
    counted = con.execute(f"select count(*) from {info.relation} where {BATCH_ID} = ?", [batch_id]).fetchone()
    ctx = gate.context(info, batch_id, rows=int(counted[0]) if counted else 0, columns=tuple(info.columns))
    suite, _ = gate.suite(ctx, info)
    checks = BatchChecks(suite, ctx)
    checks.prepare(con, info, batch_id, list(info.columns))
    try:
        if not checks.row_rules:
            return
        mine = f"({BATCH_ID}, {ROW_NUMBER}) in (select ({BATCH_ID}, {ROW_NUMBER}) from {CANDIDATES})"
        failing = " union all ".join(
            f"select {BATCH_ID}, {ROW_NUMBER}, '{r.rule}' as rule, {r.reason} as reason from checked "
            f"where ({r.predicate.unexpected}) and {mine}"
            for r in checks.row_rules
        )
        con.execute(f"insert into {FAILING} with checked as ({checks.windows_sql()}) {failing}")
        # rows that stay get entries for the rules they fail now (entries already recorded are kept as they
        # are)
        quarantine.insert(
            con,
            info.source,
            info.table,
            f"select * from ({checks.selection_sql(info)}) as s where {mine}",
            stage=quarantine.STAGE_QUALITY,
            quarantined_at=now,
        )
    finally:
        checks.release(con)


def _release_batch(
    gate: Gate, record: PendingBatch, force: bool, settings: QualitySettings, result: ReleaseResult
) -> None:
    """Re-validate a rejected batch against the history before it; accept it when it passes (or forced)."""
    started = time.perf_counter()
    history = table_history(gate.con, record.source, record.table, settings.history_batches, before=record)
    checked = gate.check_table(record.source, record.table, [record], force=force, history=history)
    result.batches.extend(checked)
    for batch in checked:
        if batch.rejected:
            result.messages.append(
                f"batch {batch.batch_id} still fails and stays rejected: "
                + "; ".join(batch.reasons)
                + f". Accept it as delivered with --force, fix the source and deliver again, or {RELOAD_HINT}"
            )
        else:
            note = " (forced)" if force else ""
            result.messages.append(
                f"batch {batch.batch_id} accepted{note}: {batch.rows:,} rows, {batch.quarantined_rows:,} of "
                f"them quarantined by row-level rules; the next run includes it "
                f"(took {time.perf_counter() - started:.1f}s)"
            )
    from expectations.report import QualityReport

    gate.finish(QualityReport(run_id=gate.run_id, batches=checked))
