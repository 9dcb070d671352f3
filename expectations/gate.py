"""One gate run on an open warehouse connection: per batch, build its suite, apply it (checks.py), decide
(passed, quarantined, rejected, empty) and record the outcome with the quarantine rows in one transaction.

A batch is rejected when a batch-level rule fails, when too many rows are bad (`max_bad_share`, never for
fewer than `min_bad_rows`), or when Great Expectations and the SQL translation of a row-level rule disagree on
how many rows fail (then which rows to quarantine is uncertain). Marts are checked here too (`check_mart`):
nothing is quarantined there, a failure means "do not publish".
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from customer360.core import quarantine, warehouse
from customer360.core.config import Config
from customer360.core.warehouse import META, quote_identifier
from expectations import history as ledger
from expectations import messages, project
from expectations.checks import BatchChecks, to_frame
from expectations.history import History, PendingBatch, Profile, TableInfo
from expectations.report import EMPTY, PASSED, QUARANTINED, REJECTED, BatchResult, MartResult, QualityReport
from expectations.settings import QualitySettings


def q(name: str) -> str:
    return quote_identifier(name)


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
        self._catalog: dict[str, frozenset[str]] | None = None
        con.execute("set enable_progress_bar = false")

    @property
    def gx(self) -> Any:
        if self._gx is None:
            from expectations.context import GxSession, quality_dir

            self._gx = GxSession(quality_dir(self.config))
        return self._gx

    @property
    def catalog(self) -> dict[str, frozenset[str]]:
        """The raw tables' columns (read once: raw tables do not change while the gate runs)."""
        if self._catalog is None:
            self._catalog = ledger.catalog(self.con)
        return self._catalog

    def finish(self, report: QualityReport) -> Any:
        """Write Data Docs and the run's summary; returns the Data Docs index."""
        from expectations.context import quality_dir

        docs = self.gx.build_docs() if self._gx is not None else None
        runs = quality_dir(self.config) / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        report.docs = docs
        (runs / f"{self.run_id}.json").write_text(json.dumps(report.summary(), indent=2, default=str), "utf-8")
        return docs

    # -- suites ----------------------------------------------------------------------------------------------

    def table_info(self, source: str, table: str) -> TableInfo:
        return ledger.table_info(self.con, self.config, source, table)

    def project_suite(self, info: TableInfo) -> project.ProjectSuite | None:
        """The project's own suite module of the table (SuiteError when it is broken)."""
        return project.for_table(self.config, info.table_config)

    def context(self, info: TableInfo, batch_id: str, **values: Any) -> Any:
        from expectations.kit import SuiteContext

        return SuiteContext(
            source=info.source,
            table=info.table,
            as_of=self.as_of,
            settings=self.settings,
            table_config=info.table_config,
            schema=info.schema,
            batch_id=batch_id,
            config=self.config,
            catalog=self.catalog,
            **values,
        )

    def suite(self, ctx: Any, info: TableInfo) -> tuple[Any, str]:
        from expectations.suites import table_suite

        return table_suite(ctx, self.project_suite(info))

    # -- raw tables ------------------------------------------------------------------------------------------

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
        profiles = ledger.profile(self.con, info, [b.batch_id for b in batches])
        history = history or ledger.table_history(self.con, source, table, self.settings.history_batches)
        results = []
        pending = [profiles.get(b.batch_id, (0, {})) for b in batches]
        for batch in batches:
            profile = profiles.get(batch.batch_id, (0, {}))
            result, accepted_columns = self.check_batch(
                info, batch, profile, history, pending, force=force, latest=batch is batches[-1]
            )
            if not result.rejected:
                rows, filled = profile
                history.accept(accepted_columns, rows, filled)
            results.append(result)
        return results

    def check_batch(
        self,
        info: TableInfo,
        batch: PendingBatch,
        profile: Profile,
        history: History,
        pending: list[Profile],
        *,
        force: bool = False,
        latest: bool = True,
    ) -> tuple[BatchResult, list[str]]:
        started = time.perf_counter()
        rows, _ = profile
        delivered, missing, new = ledger.delivered_columns(
            info, profile, history, pending, self.settings, declared=batch.columns
        )
        ctx = self.context(
            info,
            batch.batch_id,
            rows=rows,
            columns=tuple(delivered),
            missing=tuple(missing),
            new=tuple(new),
            baseline=history.baseline(self.settings.history_batches),
            latest=latest,
        )
        suite, made_of = self.suite(ctx, info)
        result = BatchResult(
            info.source,
            info.table,
            batch.batch_id,
            batch.location,
            made_of,
            rows=rows,
            ingest_rejected=int(batch.rows_rejected or 0),
        )
        checks = BatchChecks(suite, ctx)
        frame_columns = checks.prepare(self.con, info, batch.batch_id, delivered)
        try:
            frame = checks.frame(frame_columns)
            validation = self.gx.validate(checks.suite, frame, run_name=f"{self.run_id}.{batch.batch_id}")
            result.rules = checks.rules(validation, self.con)
            del frame, validation  # the SQL steps below need only the Arrow rows: free the frame's NumPy copies now
            counts, union = checks.sql_counts(self.con) if rows else ({}, 0)
            result.mismatches = checks.cross_check(result.rules, counts)
            for mismatch in result.mismatches:
                messages.log.error("quality %s batch %s: %s", result.name, result.batch_id, mismatch)
            decide(result, union, missing, new, self.settings, force=force)
            self._record(info, batch, result, checks, counts, profile, history, delivered, force=force)
        finally:
            checks.release(self.con)
        result.seconds = time.perf_counter() - started
        return result, delivered

    def _record(
        self,
        info: TableInfo,
        batch: PendingBatch,
        result: BatchResult,
        checks: BatchChecks,
        counts: dict[str, int],
        profile: Profile,
        history: History,
        delivered: list[str],
        *,
        force: bool,
    ) -> None:
        """The outcome on meta.batches and the quarantine rows, in one transaction."""
        rows, filled = profile
        accepted_columns = sorted(set(history.columns or ()) | set(delivered))
        con = self.con
        con.execute("begin transaction")
        try:
            quarantine.ensure_table(con, info.source, info.table)  # exists for every gated table
            if not result.rejected and result.rows:
                written = checks.quarantine_rows(con, info, self.as_of, counts)
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
            previous = ledger.previous_quality(con, batch.batch_id)
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

    def check_mart(self, table: str, changed: str | None = None) -> MartResult:
        """A public mart against the product's suite for it; a mart that does not exist fails.

        `changed`: a table of the customer IDs an incremental build wrote anew, when it updated the published
        build. The rows of those customers are checked; every other row is one that build published after its
        checks. The row count is still the whole mart's."""
        from expectations.kit import SuiteContext
        from expectations.suites import mart_suite

        if not warehouse.table_exists(self.con, warehouse.MARTS, table):
            return MartResult(table, 0, False, reasons=[f"mart_missing: {messages.missing_mart(table)}"])
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
            config=self.config,
        )
        checks = BatchChecks(mart_suite(table, ctx), ctx)
        checks.drop_inapplicable(set(columns), rows)
        result = MartResult(table, rows, True)
        scope = ""
        if changed is not None and "customer_id" in columns:
            result.reasons.extend(checks.take_row_counts(rows))
            scope = f" where customer_id in (select customer_id from {changed})"
        frame = to_frame(self.con.execute(f"select * from {relation}{scope}"))
        if scope:
            result.checked = len(frame)
        validation = self.gx.validate(checks.suite, frame, run_name=f"{self.run_id}.marts")
        for rule in checks.rules(validation):
            if rule.success:
                continue
            (result.warnings if rule.action == "warn" else result.reasons).append(f"{rule.rule}: {rule.message}")
        result.success = not result.reasons
        return result


def decide(
    result: BatchResult,
    union: int,
    missing: list[str],
    new: list[str],
    settings: QualitySettings,
    *,
    force: bool,
) -> None:
    """The batch's status from its rules, its bad rows and the GX/SQL cross-check; `force` accepts it anyway."""
    for rule in result.rules:
        if rule.success:
            continue
        if rule.action == "warn":
            result.warnings.append(f"{rule.rule}: {rule.message}")
        else:
            result.reasons.append(f"{rule.rule}: {rule.message}")
    result.reasons.extend(f"sql_mismatch: {mismatch}" for mismatch in result.mismatches)
    bad = union + result.ingest_rejected
    total = result.rows + result.ingest_rejected
    allowed = max(settings.min_bad_rows, settings.max_bad_share * total)
    if total and bad > allowed:
        result.reasons.append(f"bad_row_share: {messages.bad_share(bad, total, settings)}")
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
