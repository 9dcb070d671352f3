"""What a quality-gate run found: one result per batch (and per mart), with the rules that failed and why."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer360.core.errors import EXIT_BLOCKED, EXIT_OK

PASSED, QUARANTINED, REJECTED, EMPTY = "passed", "quarantined", "rejected", "empty"


# what to do when a table was read under a wrong configuration (a delimiter, a records_field)
RELOAD_HINT = "fix the table's configuration and read it again with `c360 ingest --reload <source.table>`"


@dataclass
class RuleResult:
    rule: str
    action: str  # quarantine | block | warn
    expectation: str  # GX expectation type
    column: str | None
    success: bool
    unexpected: int | None = None  # what GX counted
    quarantined: int = 0  # rows written to quarantine for this rule
    sql_count: int | None = None  # what the SQL predicate selected (equals `unexpected`)
    observed: Any = None
    sample: list[Any] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action,
            "expectation": self.expectation,
            "column": self.column,
            "success": self.success,
            "unexpected": self.unexpected,
            "quarantined": self.quarantined,
            "observed": self.observed if isinstance(self.observed, int | float | str | None) else str(self.observed),
            "message": self.message,
        }


@dataclass
class BatchResult:
    source: str
    table: str
    batch_id: str
    location: str
    suite: str  # what the suite is made of, e.g. "generic + config + suites/tickets.py"
    rows: int = 0
    ingest_rejected: int = 0  # rows ingestion could not parse (already in quarantine, stage ingest)
    quarantined_rows: int = 0  # distinct rows this gate quarantined
    status: str = PASSED
    reasons: list[str] = field(default_factory=list)  # why the batch was rejected
    warnings: list[str] = field(default_factory=list)
    rules: list[RuleResult] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # GX and SQL disagreed (a bug: the batch is rejected)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.source}.{self.table}"

    @property
    def rejected(self) -> bool:
        return self.status == REJECTED

    @property
    def passed_rows(self) -> int:
        return 0 if self.rejected else self.rows - self.quarantined_rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "batch_id": self.batch_id,
            "location": self.location,
            "suite": self.suite,
            "status": self.status,
            "rows": self.rows,
            "passed": self.passed_rows,
            "quarantined": self.quarantined_rows,
            "ingest_rejected": self.ingest_rejected,
            "reasons": self.reasons,
            "warnings": self.warnings,
            "mismatches": self.mismatches,
            "seconds": round(self.seconds, 2),
            "rules": [rule.as_dict() for rule in self.rules if not rule.success or rule.quarantined],
        }


@dataclass
class MartResult:
    table: str
    rows: int
    success: bool
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: int | None = None  # an incremental build: the rows of the customers it wrote (None: every row)


@dataclass
class QualityReport:
    run_id: str
    batches: list[BatchResult] = field(default_factory=list)
    marts: list[MartResult] = field(default_factory=list)
    docs: Path | None = None  # Data Docs index.html
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(b.rejected for b in self.batches) or any(not m.success for m in self.marts)

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.blocked else EXIT_OK

    @property
    def rejected(self) -> list[BatchResult]:
        return [b for b in self.batches if b.rejected]

    def tables(self) -> dict[str, dict[str, Any]]:
        """Per source table: batches, rows checked, passed, quarantined, rejected batches, warnings."""
        summary: dict[str, dict[str, Any]] = defaultdict(
            lambda: {
                "batches": 0,
                "checked": 0,
                "passed": 0,
                "quarantined": 0,
                "rejected_batches": 0,
                "rejected_rows": 0,
                "warnings": 0,
                "rules": defaultdict(int),
            }
        )
        for batch in self.batches:
            row = summary[batch.name]
            row["batches"] += 1
            row["checked"] += batch.rows
            row["passed"] += batch.passed_rows
            row["quarantined"] += batch.quarantined_rows
            row["warnings"] += len(batch.warnings)
            if batch.rejected:
                row["rejected_batches"] += 1
                row["rejected_rows"] += batch.rows
            for rule in batch.rules:
                if rule.quarantined:
                    row["rules"][rule.rule] += rule.quarantined
        return {name: {**values, "rules": dict(values["rules"])} for name, values in summary.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "blocked": self.blocked,
            "tables": self.tables(),
            "rejected": [b.as_dict() for b in self.rejected],
            "marts": [m.__dict__ for m in self.marts],
            "docs": str(self.docs) if self.docs else None,
            "seconds": round(self.seconds, 2),
        }

    def message(self) -> str:
        """Why the gate stopped the run, for a person (the text of QualityGateBlocked)."""
        lines = ["the quality gate rejected data; nothing was resolved or published (the last snapshot stays):"]
        for batch in self.rejected:
            lines.append(f"  - {batch.name}, batch {batch.batch_id} ({batch.location}):")
            lines.extend(f"      {reason}" for reason in batch.reasons)
        for mart in self.marts:
            if not mart.success:
                lines.append(f"  - marts.{mart.table}:")
                lines.extend(f"      {reason}" for reason in mart.reasons)
        lines.append(
            "Rejected batches are excluded from staging (meta.batches.status = 'rejected'); see "
            "`c360 quarantine list`. After checking a batch, accept it with "
            f"`c360 quarantine release <source.table> --batch <id> --force`, fix the source and deliver again, "
            f"or {RELOAD_HINT}."
        )
        if self.docs:
            lines.append(f"Data Docs: {self.docs}")
        return "\n".join(lines)

    def render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"Quality gate {self.run_id}")
        for column in ("source.table", "batches", "checked", "passed", "quarantined", "rejected", "warnings"):
            table.add_column(column, overflow="fold")
        for name, row in sorted(self.tables().items()):
            rejected = f"{row['rejected_batches']} ({row['rejected_rows']:,} rows)" if row["rejected_batches"] else "0"
            table.add_row(
                name,
                str(row["batches"]),
                f"{row['checked']:,}",
                f"{row['passed']:,}",
                f"{row['quarantined']:,}",
                rejected,
                str(row["warnings"]),
            )
        parts: list[Any] = [table] if self.batches else [Text("quality gate: no new batches to check")]
        for batch in self.batches:
            for rule in batch.rules:
                if rule.quarantined:
                    parts.append(Text(f"  {batch.name}: {rule.quarantined:,} row(s) quarantined by {rule.rule}"))
            for reason in batch.reasons:
                parts.append(Text(f"  {batch.name} batch {batch.batch_id} rejected: {reason}", style="red"))
            for warning in batch.warnings:
                parts.append(Text(f"  {batch.name}: {warning}", style="yellow"))
            for mismatch in batch.mismatches:
                parts.append(Text(f"  {batch.name}: {mismatch}", style="red"))
        for mart in self.marts:
            state = "passed" if mart.success else "failed"
            parts.append(
                Text(
                    f"  marts.{mart.table}: {mart.rows:,} rows"
                    + ("" if mart.checked is None else f" ({mart.checked:,} of changed customers checked)")
                    + f", {state}",
                    style=None if mart.success else "red",
                )
            )
            for reason in mart.reasons:
                parts.append(Text(f"    {reason}", style="red"))
        parts.extend(Text(f"  {note}", style="dim") for note in self.notes)
        if self.docs:
            parts.append(Text(f"Data Docs: {self.docs}", style="dim"))
        return Group(*parts)
