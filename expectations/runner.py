"""The quality gate's entry points: validate every batch not validated yet, and check the marts before publishing.

    from expectations.runner import validate, validate_marts
    report = validate(config, run_id, as_of=run_started_at)
    report.blocked      # a batch was rejected: stop before resolution and publishing (exit code 4)
    report.summary()    # per source table: checked, passed, quarantined, rejected
    report.render()     # a rich renderable for the CLI

For each pending batch (meta.batches.validated_at is null), in load order, per raw table:

1. profile it in DuckDB (rows, filled values per column) and compare with the table's accepted history: which
   columns it delivered, which are missing, which are new, how its volume compares (history.py);
2. build its suite: the generic checks, the configuration's rules and the project's own module (suites.py);
3. materialise the batch with the suite's derived columns as an Arrow table; hand it to GX as a pandas frame;
   select the rows every row-level rule flags with the rule's SQL predicate (expectations/sql.py),
   cross-checked against GX's unexpected counts (checks.py);
4. decide: reject the batch when a batch-level rule fails, too many rows are bad or GX and SQL disagree
   (meta.batches.status = 'rejected', so staging leaves all its rows out); otherwise write the failing rows to
   quarantine.<source>__<table>; record the outcome on the batch, all in one transaction (gate.py).

Re-running adds nothing: a validated batch is never validated again (`c360 quarantine release --batch` is the
one deliberate exception). GX Data Docs are written under <data_dir>/reports/quality/ (see
expectations/context.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb

from customer360.core import warehouse
from customer360.core.config import Config
from expectations import history as ledger
from expectations import messages
from expectations.gate import Gate
from expectations.report import QualityReport
from expectations.settings import QualitySettings, load_settings


def validate(
    config: Config,
    run_id: str,
    *,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> QualityReport:
    """Validate every batch not validated yet. Never raises for bad data: see `report.blocked`.

    A broken suite module of the project raises `SuiteError` (naming the file) before any batch is recorded.
    """
    started = time.perf_counter()
    report = QualityReport(run_id=run_id)
    with _connection(config, con) as connection:
        warehouse.ensure_schemas(connection, config)
        pending = ledger.by_table(ledger.pending_batches(connection))
        if pending:
            gate = Gate(connection, config, settings or load_settings(config), _utc(as_of), run_id)
            for source, table in pending:  # every module loads before the first batch is recorded
                gate.project_suite(gate.table_info(source, table))
            for (source, table), batches in pending.items():
                report.batches.extend(gate.check_table(source, table, batches))
            report.seconds = time.perf_counter() - started
            report.docs = gate.finish(report)
    report.seconds = time.perf_counter() - started
    messages.log_report(report)
    return report


def validate_marts(
    config: Config,
    run_id: str,
    *,
    as_of: datetime | None = None,
    settings: QualitySettings | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> QualityReport:
    """Check the public marts (the registry expectations.marts) after they are built, before they are published.

    Nothing is quarantined: a failure means "do not publish", and so does a mart that does not exist.
    """
    from customer360.core import marts_builds
    from customer360.serving.snapshots import current_snapshot
    from expectations.marts import MART_SUITES

    started = time.perf_counter()
    report = QualityReport(run_id=run_id)
    with _connection(config, con) as connection:
        gate = Gate(connection, config, settings or load_settings(config), _utc(as_of), run_id)
        update = marts_builds.update_of(connection, current_snapshot(config))
        for table in MART_SUITES:
            changed = update.changes if update is not None and table in update.tables else None
            report.marts.append(gate.check_mart(table, changed))
        report.docs = gate.finish(report)
    report.seconds = time.perf_counter() - started
    messages.log_report(report)
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
