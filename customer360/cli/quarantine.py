"""`c360 quarantine ...`: what the quality gate held back, and releasing it after the source was corrected.

    c360 quarantine list                            per table and rule: rows held / released; rejected batches
    c360 quarantine show sales.orders --rule customer_id_unknown --limit 20
    c360 quarantine release sales.orders --rule customer_id_unknown
    c360 quarantine release marketing.contacts --batch <id> [--force]
    c360 quarantine check [--marts]                 run the gate on batches not checked yet

Registered in customer360/cli/__init__.py. Imports stay light here: Great Expectations is loaded only by commands that
validate (check, release).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from customer360.cli.common import ConfigOption, console, err, print_error
from customer360.cli.common import setup as _setup

quarantine_app = typer.Typer(
    help="Rows and batches the quality gate held back: list, show, release after the source was fixed.",
    no_args_is_help=True,
)

TableArgument = Annotated[str, typer.Argument(help="the raw table, as <source>.<table>, e.g. marketing.contacts")]


def _table(*columns: str, **options: Any) -> Any:
    """A rich table whose cells wrap instead of being cut off (names and ids must stay readable)."""
    from rich.table import Table

    table = Table(**options)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _shorten(value: Any, width: int, keep_end: bool = False) -> str:
    text = "" if value is None else str(value)
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


@quarantine_app.command("list")
def list_(config: ConfigOption = None) -> None:
    """Per table, stage and rule: rows held in quarantine and released; batches rejected as a whole."""
    from customer360.core import quarantine, warehouse

    cfg = _setup(config)
    if not cfg.warehouse_path.exists():
        console.print(f"no warehouse yet at {cfg.warehouse_path}: nothing is quarantined")
        return
    with warehouse.session(cfg, read_only=True) as con:
        overview = quarantine.overview(con)
        rejected = quarantine.rejected_batches(con)
    table = _table(
        "table",
        "stage",
        "rule",
        "held",
        "released",
        "batches",
        "latest reason",
        title="quarantine (staging reads raw rows minus held rows)",
    )
    for row in overview:
        table.add_row(
            str(row["table"]),
            str(row["stage"]),
            str(row["rule"]),
            f"{row['held']:,}",
            f"{row['released']:,}",
            str(row["batches"]),
            _shorten(row["example"], 70),
        )
    console.print(table if overview else "no rows in quarantine")
    if rejected:
        batches = _table(
            "table",
            "batch",
            "location",
            "rows",
            "loaded",
            "why",
            title="rejected batches (excluded from staging as a whole)",
        )
        for row in rejected:
            batches.add_row(
                str(row["table_name"]),
                str(row["batch_id"]),
                _shorten(row["location"], 48, keep_end=True),
                f"{row['rows_loaded']:,}",
                f"{row['loaded_at']:%Y-%m-%d %H:%M}",
                _shorten(row["message"], 80),
            )
        console.print(batches)
    else:
        console.print("no rejected batches")


@quarantine_app.command("show")
def show(
    table: TableArgument,
    rule: Annotated[str | None, typer.Option("--rule", "-r", help="only rows held by this rule")] = None,
    batch: Annotated[str | None, typer.Option("--batch", "-b", help="only rows of this batch")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="at most this many rows (0: all)")] = 20,
    released: Annotated[bool, typer.Option("--released", help="include rows already released")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object a line instead of a table")] = False,
    config: ConfigOption = None,
) -> None:
    """Quarantined rows of one table with the rule, the reason and the row as delivered."""
    from customer360.core import quarantine, warehouse

    cfg = _setup(config)
    try:
        source, name = quarantine.parse_table(table)
    except ValueError as error:
        print_error(error)
        raise typer.Exit(2) from None
    if not cfg.warehouse_path.exists():
        console.print("no warehouse yet: nothing is quarantined")
        return
    with warehouse.session(cfg, read_only=True) as con:
        rows = quarantine.rows(
            con, source, name, rule=rule, batch=batch, limit=limit or None, include_released=released
        )
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str, ensure_ascii=False))
        return
    view = _table(
        "batch",
        "row",
        "stage",
        "rule",
        "reason",
        "record",
        title=f"quarantine.{source}__{name}",
        show_lines=True,
    )
    for row in rows:
        stage = str(row[quarantine.STAGE]) + (" (released)" if row[quarantine.RELEASED_AT] else "")
        view.add_row(
            str(row["_c360_batch_id"]),
            str(row["_c360_row_number"]),
            stage,
            str(row[quarantine.RULE]),
            str(row[quarantine.REASON]),
            _shorten(row[quarantine.RECORD], 160),
        )
    console.print(view if rows else f"no held rows in quarantine.{source}__{name} match")


@quarantine_app.command("release")
def release(
    table: TableArgument,
    rule: Annotated[str | None, typer.Option("--rule", "-r", help="release rows held by this rule")] = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            "-b",
            help="release rows of this batch; a rejected batch is re-checked as a whole and accepted when it passes",
        ),
    ] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="release every held row of the table")] = False,
    force: Annotated[bool, typer.Option("--force", help="release even what still fails (you accept it as is)")] = False,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show the log of every library")] = False,
) -> None:
    """Re-check held rows (or a rejected batch) with the current rules and release what passes now.

    The next `c360 run` reads released rows again. Exit code 3 when some rows stay in quarantine.
    """
    from expectations.release import release as run_release

    cfg = _setup(config, verbose)
    if sum(bool(x) for x in (rule, batch, all_rows)) == 0:
        err.print("[red]error:[/red] say what to release: --rule RULE, --batch BATCH or --all")
        raise typer.Exit(2)
    try:
        result = run_release(cfg, table, rule=rule, batch=batch, all_rows=all_rows, force=force)
    except ValueError as error:
        print_error(error)
        raise typer.Exit(2) from None
    if result.selected:
        console.print(f"{result.table}: {result.released:,} of {result.selected:,} held row(s) released")
    for message in result.messages:
        console.print(message)
    for example in result.examples:
        console.print(f"  still failing: {example}")
    still_rejected = any(b.rejected for b in result.batches)
    raise typer.Exit(3 if result.kept or still_rejected else 0)


@quarantine_app.command("check")
def check(
    marts: Annotated[bool, typer.Option("--marts", help="check the marts (before publishing) instead")] = False,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show the log of every library")] = False,
) -> None:
    """Run the quality gate on every batch not checked yet, as `c360 run` does after ingest.

    Exit code 4 when a batch is rejected (or, with --marts, when a mart fails its suite).
    """
    from datetime import UTC, datetime

    from customer360.core.runs import new_run_id
    from expectations.runner import validate, validate_marts

    cfg = _setup(config, verbose)
    started = datetime.now(UTC)
    run = validate_marts if marts else validate
    report = run(cfg, new_run_id(started), as_of=started)
    console.print(report.render())
    if report.blocked:
        err.print("[red]blocked:[/red]", end=" ")
        err.print(report.message(), markup=False)
    raise typer.Exit(report.exit_code)
