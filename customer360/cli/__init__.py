"""`c360`: the command line of customer360. Every command is a thin shell over a function the Airflow tasks
also call (customer360.pipeline and friends). Exit codes are documented in docs/architecture.md."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from customer360 import pipeline
from customer360.cli.common import ConfigOption, VerboseOption, WaitOption, console, print_error
from customer360.cli.common import fail as _fail
from customer360.cli.common import setup as _setup
from customer360.cli.console_commands import register as register_console
from customer360.cli.init import init
from customer360.cli.plugins import register_plugins
from customer360.cli.privacy import privacy_app
from customer360.cli.quarantine import quarantine_app
from customer360.cli.review import review_app
from customer360.cli.snapshots import snapshots_app
from customer360.core.writer import WAIT_ENV_VAR

app = typer.Typer(
    name="c360",
    help=(
        "customer360 — one trustworthy customer record from marketing, sales and service silos.\n\n"
        "Start a project: `c360 init DIR`, then `c360 run --config DIR/customer360.yml`.\n"
        "Then: `c360 lookup 'ada'`, `c360 explain C000000001`, `c360 serve` (each with --config)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
decisions_app = typer.Typer(help="Human decisions: records that are (not) the same person. Every later run obeys them.")
app.add_typer(decisions_app, name="decisions")
app.add_typer(snapshots_app)  # c360 publish, c360 snapshots, c360 docs (cli/snapshots.py)
app.add_typer(quarantine_app, name="quarantine")  # quality gate: list, show, release (cli/quarantine.py)
app.add_typer(privacy_app, name="privacy")  # data-subject requests: export (cli/privacy.py)
app.add_typer(review_app, name="review")  # the review loop: answer pairs, calibrate, train (cli/review.py)
app.command()(init)  # c360 init DIR: a new project (cli/init.py)

# -- data ------------------------------------------------------------------------------------------------------------


@app.command()
def check(config: ConfigOption = None, verbose: VerboseOption = False) -> None:
    """Check the project without reading any source: the configuration, the model spec, and every configured SQL
    expression against the raw tables loaded so far (every `c360 run` starts with this)."""
    cfg = _setup(config, verbose)
    report = pipeline.check(pipeline.RunContext.new(cfg))
    console.print(
        f"{cfg.file}: configuration valid, model spec {report.spec}, "
        f"{report.expressions} expression(s) bound against the raw tables loaded so far"
    )


@app.command()
def ingest(
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="only these sources (repeatable)")] = None,
    reload: Annotated[
        list[str] | None,
        typer.Option(
            "--reload",
            metavar="SOURCE.TABLE",
            help="read this table again whole, superseding what it delivered before (e.g. after a config fix)",
        ),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Load new data from every configured source into raw_<source> tables (incremental, idempotent)."""
    cfg = _setup(config, verbose)
    ctx = pipeline.RunContext.new(cfg)
    report = pipeline.ingest(ctx, sources=source, progress=sys.stderr.isatty(), reload=reload)
    console.print(report.render())
    raise typer.Exit(report.exit_code)


@app.command()
def train(config: ConfigOption = None, verbose: VerboseOption = False) -> None:
    """Train the Splink model on the current identity records and make it the model every run uses."""
    cfg = _setup(config, verbose)
    ctx = pipeline.RunContext.new(cfg)
    pipeline.staging(ctx)
    model = pipeline.train(ctx)
    report = model.training_report
    console.print(f"trained [bold]{model.model_id}[/bold] on {report['records']:,} records → {model.folder}")
    for change in report["clamped"]:
        console.print(
            f"  m-probability of {change['comparison']} / {change['level']} clamped "
            f"from {change['learned_m']:.3f} to {change['clamped_to']} (domain knowledge beats EM here)"
        )
    blocking = Table("blocking rule", "new comparisons", "largest blocks", title="blocking analysis (prediction rules)")
    for rule in report["blocking"]:
        blocking.add_row(
            rule["blocking_rule"],
            f"{rule['new_comparisons']:,}" + (" (est.)" if rule["is_estimate"] else ""),
            ", ".join(f"{size:,}" for size in rule.get("largest_blocks", [])) or "—",
        )
    console.print(blocking)
    for session in report["em_sessions"]:
        if "skipped" in session:
            console.print(f"  EM session on {session['blocking_rule']} skipped: {session['skipped']}")


@app.command()
def resolve(
    full: Annotated[bool, typer.Option("--full", help="re-score and re-cluster every record")] = False,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Resolve identity records into customers with stable IDs (incremental unless --full)."""
    cfg = _setup(config, verbose)
    ctx = pipeline.RunContext.new(cfg)
    pipeline.staging(ctx)
    report = pipeline.resolve(ctx, full=full)
    _print_resolution(report)


@app.command()
def run(
    full: Annotated[bool, typer.Option("--full", help="resolve every record again, not only new ones")] = False,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="ingest only these sources")] = None,
    wait: WaitOption = 0,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run the whole chain: ingest → quality gate → staging → resolution → marts → publish."""
    cfg = _setup(config, verbose)
    if wait:
        os.environ[WAIT_ENV_VAR] = str(wait)
    summary = run_and_report(cfg, full=full, sources=source)
    raise typer.Exit(summary.exit_code)


def run_and_report(cfg, full: bool, sources: list[str] | None) -> pipeline.RunSummary:  # noqa: ANN001
    ctx = pipeline.RunContext.new(cfg)
    console.print(f"run [bold]{ctx.run_id}[/bold] on {cfg.warehouse_path}")
    summary = pipeline.run_pipeline(
        ctx, pipeline.default_stages(full=full, sources=sources, progress=sys.stderr.isatty())
    )
    for name in ("ingest", "validate", "changes", "staging"):
        if name in summary.stages and (text := summary.stages[name].render()):
            console.print(text)
    if "resolve" in summary.stages:
        _print_resolution(summary.stages["resolve"])
    if summary.message:
        print_error(summary.message, summary.status)
    _print_run_summary(cfg, summary)
    return summary


def _print_run_summary(cfg, summary: pipeline.RunSummary) -> None:  # noqa: ANN001
    """What the run produced and where it is: the last thing a run prints."""
    table = Table(show_header=False, title=f"run {summary.run_id}: {summary.status} (exit code {summary.exit_code})")
    table.add_row("stages", ", ".join(f"{name} {seconds:.0f} s" for name, seconds in summary.seconds.items()))
    published = summary.stages.get("publish")
    resolution = summary.stages.get("resolve")
    if published is not None:
        facts = {key: value or 0 for key, value in published.summary().items()}
        table.add_row(
            "customers",
            f"{facts['customers']:,} from {facts['source_records']:,} source records "
            f"({facts['multi_record_customers']:,} with 2+ records, {facts['records_merged']:,} records merged)",
        )
        table.add_row("quarantined rows", f"{facts['quarantined_rows']:,} (c360 quarantine list)")
        table.add_row("snapshot", facts["snapshot"])
    if resolution is not None:
        table.add_row(
            "ID events", ", ".join(f"{count:,} {event}" for event, count in sorted(resolution.events.items())) or "none"
        )
        table.add_row("resolution charts", str(cfg.reports_dir / "resolution" / summary.run_id))
    expired = summary.stages.get("retention")
    if expired is not None and expired.deleted:
        table.add_row("retention", expired.render())
    ingested = summary.stages.get("ingest")
    if ingested is not None and ingested.rows_suppressed:
        table.add_row("suppressed rows", f"{ingested.rows_suppressed:,} of erased people, not loaded (docs/privacy.md)")
    quality = summary.stages.get("validate")
    if quality is not None and getattr(quality, "docs", None):
        table.add_row("quality report", str(quality.docs))
    table.add_row("warehouse", str(cfg.warehouse_path))
    console.print(table)


def _print_resolution(report) -> None:  # noqa: ANN001
    console.print(
        f"resolution ({report.mode}, model {report.model_id}): {report.records:,} records → "
        f"[bold]{report.customers:,} customers[/bold] ({report.multi_record_customers:,} with 2+ records); "
        f"{report.records_changed:,} records scored, {report.links_accepted:,} links accepted, "
        f"{report.links_vetoed:,} vetoed by guard rails, {report.links_refused:,} refused to avoid chaining, "
        f"{report.bridge_records:,} bridge records; ID events {report.events or {}}"
    )


# -- resolution: accuracy, explanations, decisions --------------------------------------------------------------


@app.command()
def evaluate(
    labels: Annotated[
        Path | None, typer.Option(help="CSV with source_system, source_record_id, entity_id (optional)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Accuracy of the current customers: pairwise precision, recall and F1 against a labels file (--labels), and
    against the stewards' review answers (c360 review), with counts."""
    from customer360.core import warehouse
    from customer360.core.decisions import list_review_answers
    from entity_resolution.evaluate import evaluate as run_evaluation
    from entity_resolution.evaluate import evaluate_answers

    cfg = _setup(config)
    answers = list_review_answers(cfg.state_dir)
    if labels is None and not answers:
        raise _fail(
            "nothing to evaluate against: pass --labels FILE, or answer review pairs first (c360 review)",
            pipeline.EXIT_USAGE,
        )
    try:
        with warehouse.session(cfg, read_only=True) as con:
            result = run_evaluation(con, labels) if labels is not None else None
            answered = evaluate_answers(con, answers) if answers else None
    except (FileNotFoundError, ValueError) as error:
        raise _fail(str(error), pipeline.EXIT_USAGE) from None
    if result is not None:
        _print_label_evaluation(result, labels)
    if answered is not None:
        _print_answer_evaluation(answered)


def _print_label_evaluation(result, labels: Path | None) -> None:  # noqa: ANN001
    table = Table("measure", "value", title=f"accuracy against {labels}")
    table.add_row("precision (pairwise)", f"{result.precision:.4f}")
    table.add_row("recall (pairwise)", f"{result.recall:.4f}")
    table.add_row("F1", f"{result.f1:.4f}")
    table.add_row(
        "true pairs / predicted pairs / correct",
        f"{result.true_pairs:,} / {result.predicted_pairs:,} / {result.true_positive_pairs:,}",
    )
    table.add_row("false merges (pairs)", f"{result.false_merge_pairs:,}")
    table.add_row("missed links (pairs)", f"{result.missed_pairs:,}")
    table.add_row("customers / true people", f"{result.customers:,} / {result.entities:,}")
    table.add_row("customers exactly right", f"{result.exact_clusters:,}")
    table.add_row(
        "records scored (unlabelled, labels without record)",
        f"{result.records_scored:,} ({result.records_unlabelled:,}, {result.labels_unmatched:,})",
    )
    console.print(table)


def _print_answer_evaluation(answered) -> None:  # noqa: ANN001
    def share(value: float | None) -> str:
        return "—" if value is None else f"{value:.4f}"

    table = Table(
        "review answers",
        "answered since the last run (the model on its own)",
        "applied as decisions by the last run",
        title="accuracy against the review answers (pairs; c360 review report weights them by band)",
    )
    pending, applied = answered.pending, answered.applied
    rows = (
        (
            "pairs answered same / different",
            lambda c: f"{c.same_together + c.same_apart:,} / {c.different_together + c.different_apart:,}",
        ),
        ("agree with the steward", lambda c: f"{c.agree:,} of {c.answered:,}"),
        ("same, but two customers (missed links)", lambda c: f"{c.same_apart:,}"),
        ("different, but one customer (false merges)", lambda c: f"{c.different_together:,}"),
        ("precision on answered pairs", lambda c: share(c.precision)),
        ("recall on answered pairs", lambda c: share(c.recall)),
    )
    for label, cell in rows:
        table.add_row(label, cell(pending), cell(applied))
    console.print(table)
    console.print(
        f"{answered.unsure:,} unsure answer(s) not counted; {answered.records_missing:,} answered pair(s) with a record "
        "no longer resolved. Answers applied as decisions agree by construction: they show the decisions were obeyed."
    )


@app.command()
def explain(
    customer_id: Annotated[str, typer.Argument(help="a customer ID (a merged ID is followed to its survivor)")],
    config: ConfigOption = None,
) -> None:
    """Show a customer's member records and, for each link, which fields agreed and their match weights."""
    from customer360.core import warehouse
    from customer360.serving.explain import explain_customer

    cfg = _setup(config)
    with warehouse.session(cfg, read_only=True) as con:
        explanation = explain_customer(con, customer_id)
    if explanation is None:
        raise _fail(f"no customer {customer_id}", pipeline.EXIT_FAILED)
    if explanation.redirected:
        console.print(f"{customer_id} was merged into [bold]{explanation.customer_id}[/bold]")
    members = Table(
        "record", "name", "e-mail", "phone", "born", "address", "best link", title=f"customer {explanation.customer_id}"
    )
    for member in explanation.members:
        probability = member.get("best_match_probability")
        members.add_row(
            member["record_key"],
            member.get("full_name") or "",
            member.get("email") or "",
            member.get("phone_e164") or "",
            str(member.get("date_of_birth") or ""),
            " ".join(str(member.get(part) or "") for part in ("street", "postcode", "city")).strip(),
            f"{probability:.4f}" if probability == probability and probability is not None else "—",
        )
    console.print(members)
    for link in explanation.links:
        table = Table(
            "comparison",
            "level",
            "weight",
            title=f"{link.record_key_l} ↔ {link.record_key_r}: "
            f"match weight {link.match_weight:.1f}, probability {link.match_probability:.4f}",
        )
        for comparison, label, weight in link.evidence:
            colour = "green" if weight > 0 else "red" if weight < 0 else "dim"
            table.add_row(comparison, label, f"[{colour}]{weight:+.1f}[/{colour}]")
        console.print(table)
    if len(explanation.members) == 1:
        console.print("a single record: nothing links it to another record above the threshold")


@decisions_app.command("add")
def decisions_add(
    record_a: Annotated[str, typer.Argument(help="<source_system>:<source_record_id>, e.g. sales:1042")],
    record_b: Annotated[str, typer.Argument(help="the other record")],
    same: Annotated[bool, typer.Option("--same/--different", help="the same person, or not")] = ...,  # type: ignore[assignment]
    reason: Annotated[str | None, typer.Option(help="why (shown in explanations and audits)")] = None,
    by: Annotated[str, typer.Option(help="who decided")] = os.environ.get("USER", "cli"),
    apply: Annotated[bool, typer.Option("--apply", help="publish the change now (c360 decisions apply)")] = False,
    config: ConfigOption = None,
) -> None:
    """Record that two records are (--same) or are not (--different) the same person; the next run obeys it."""
    from customer360.core.decisions import add_decision

    cfg = _setup(config)
    try:
        decision = add_decision(cfg.state_dir, record_a, record_b, "same" if same else "different", by, reason)
    except ValueError as error:
        raise _fail(str(error), pipeline.EXIT_USAGE) from None
    console.print(
        f"decision {decision.decision_id}: {decision.record_key_l} and {decision.record_key_r} are "
        f"{'the same person' if same else 'not the same person'}"
        + ("" if apply else " (applies from the next run, or now with `c360 decisions apply`)")
    )
    if apply:
        _apply_decisions(cfg)


@decisions_app.command("undo")
def decisions_undo(
    decision_id: Annotated[int, typer.Argument(help="the decision's id (c360 decisions list)")],
    by: Annotated[str, typer.Option(help="who undoes it")] = os.environ.get("USER", "cli"),
    apply: Annotated[bool, typer.Option("--apply", help="publish the change now (c360 decisions apply)")] = False,
    config: ConfigOption = None,
) -> None:
    """Withdraw a decision and those made with it in the same action; each pair falls back to its previous
    decision or to the model."""
    from customer360.core.decisions import withdraw

    cfg = _setup(config)
    try:
        withdrawn = withdraw(cfg.state_dir, decision_id, by)
    except LookupError as error:
        raise _fail(str(error), pipeline.EXIT_USAGE) from None
    for decision in withdrawn:
        console.print(
            f"withdrew decision {decision.decision_id}: {decision.record_key_l} "
            f"{'=' if decision.decision == 'same' else '≠'} {decision.record_key_r}"
        )
    if apply:
        _apply_decisions(cfg)
    else:
        console.print("applies from the next run, or now with `c360 decisions apply`")


@decisions_app.command("apply")
def decisions_apply(
    wait: WaitOption = 0,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Publish the decisions recorded since the last run now: re-resolve the customers they touch, rebuild the
    marts, check and publish (no ingestion)."""
    cfg = _setup(config, verbose)
    if wait:
        os.environ[WAIT_ENV_VAR] = str(wait)
    _apply_decisions(cfg)


def _apply_decisions(cfg) -> None:  # noqa: ANN001
    summary = pipeline.apply_decisions(cfg)
    if "resolve" in summary.stages:
        _print_resolution(summary.stages["resolve"])
    if summary.message:
        print_error(summary.message, summary.status)
        raise typer.Exit(summary.exit_code)
    seconds = ", ".join(f"{name} {value:.0f} s" for name, value in summary.seconds.items())
    console.print(f"decisions applied and published in run [bold]{summary.run_id}[/bold] ({seconds})")


@decisions_app.command("list")
def decisions_list(
    all_: Annotated[bool, typer.Option("--all", help="include decisions superseded by a later one")] = False,
    config: ConfigOption = None,
) -> None:
    """List the decisions every run obeys."""
    from customer360.core.decisions import list_decisions

    cfg = _setup(config)
    table = Table("id", "record", "record", "decision", "by", "at", "reason")
    for decision in list_decisions(cfg.state_dir, include_superseded=all_):
        table.add_row(
            str(decision.decision_id),
            decision.record_key_l,
            decision.record_key_r,
            decision.decision,
            decision.decided_by,
            decision.decided_at,
            decision.reason or "",
        )
    console.print(table)


# -- passthrough -----------------------------------------------------------------------------------------------------


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run dbt on the warehouse with the project's profile and vars, e.g. `c360 dbt -- docs generate`."""
    from customer360 import marts_scope, transform
    from customer360.core import warehouse

    cfg = _setup(config)
    if ctx.args and ctx.args[0] in {"build", "run", "seed", "snapshot"}:  # tables c360 did not build: next time, all
        with warehouse.session(cfg) as con:
            marts_scope.forget(con)
    result = transform.run_dbt(cfg, ctx.args, raise_on_failure=False, quiet=False)
    raise typer.Exit(pipeline.EXIT_OK if result.success else pipeline.EXIT_FAILED)


register_console(app)  # lookup, serve, users (cli/console_commands.py)
register_plugins(app)  # commands of installed extensions, e.g. the repository's devtools (demo, bench)


def main() -> None:
    """Entry point: errors users can act on are printed without a traceback, with their exit code."""
    from customer360.core.config import ConfigError
    from customer360.core.errors import EXIT_USAGE, C360Error

    try:
        app()
    except C360Error as error:
        print_error(error)
        sys.exit(error.exit_code)
    except ConfigError as error:  # e.g. a table named on the command line that the configuration lacks
        print_error(error, "configuration error")
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
