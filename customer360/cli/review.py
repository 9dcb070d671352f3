"""`c360 review`: the review loop (clerical review) that calibrates identity resolution.

    c360 review                                  interactive: the next pair side by side, s(ame) d(ifferent) u(nsure) q(uit)
    c360 review answer A B same|different|unsure  one answer (same/different also become a decision)
    c360 review report [--target 0.99]            per band share of `same` (Wilson 95 %), precision / recall, threshold
    c360 review train                             m-probabilities from the answers → a new current model

Candidates and evidence come from the published snapshot (marts.review_candidates), like the console's review
page, so a review session never holds the warehouse; answers go to the state store (state/decisions.sqlite).
How to read the report: docs/entity-resolution.md, "Review loop".
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from customer360.cli.common import ConfigOption, console, fail, setup
from customer360.core.errors import EXIT_FAILED, EXIT_USAGE

review_app = typer.Typer(
    help="Review candidate pairs (same / different / unsure): decisions every run obeys, and labels that calibrate "
    "the threshold and train the model. Without a subcommand: the interactive loop.",
    invoke_without_command=True,
)

ByOption = Annotated[str | None, typer.Option("--by", help="who answers [default: $USER]", show_default=False)]
SnapshotOption = Annotated[
    Path | None, typer.Option("--snapshot", help="read this snapshot file instead of the published one")
]
KEYS = {"s": "same", "d": "different", "u": "unsure", "same": "same", "different": "different", "unsure": "unsure"}


def _who(by: str | None) -> str:
    return by or os.environ.get("USER") or getpass.getuser()


@contextlib.contextmanager
def _snapshot(config: Any, path: Path | None) -> Iterator[Any]:
    """The published snapshot, read-only (a review session never holds the warehouse a run writes)."""
    import duckdb

    from customer360.serving.review import has_candidates
    from customer360.serving.snapshots import current_snapshot

    source = path or current_snapshot(config)
    if source is None or not Path(source).exists():
        raise fail("no published snapshot yet: run the pipeline first (c360 run)", EXIT_FAILED)
    con = duckdb.connect(str(source), read_only=True)
    try:
        if not has_candidates(con):
            raise fail(
                f"snapshot {Path(source).name} has no review candidates (marts.review_candidates): run the pipeline "
                "with this version of customer360 first (c360 run)",
                EXIT_FAILED,
            )
        yield con
    finally:
        con.close()


def _answered(state_dir: Path) -> dict[tuple[str, str], str]:
    from customer360.core.decisions import list_review_answers

    return {(a.record_key_l, a.record_key_r): a.answer for a in list_review_answers(state_dir)}


# -- the interactive loop ----------------------------------------------------------------------------------------


@review_app.callback()
def review(
    ctx: typer.Context,
    by: ByOption = None,
    snapshot: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Review pairs one at a time: both records side by side with the evidence; answer s(ame), d(ifferent),
    u(nsure) or q(uit). The next pair comes from the band with the fewest answers."""
    if ctx.invoked_subcommand is not None:
        return
    from customer360.core.decisions import add_review_answer
    from customer360.serving.review import load_candidates, load_pair, next_candidate, strata

    cfg = setup(config)
    who = _who(by)
    answered_now = 0
    with _snapshot(cfg, snapshot) as con:
        candidates = load_candidates(con)
        while True:
            answers = _answered(cfg.state_dir)
            candidate = next_candidate(candidates, answers)
            if candidate is None:
                console.print(
                    "every review candidate of this snapshot is answered — see [bold]c360 review report[/bold]"
                )
                break
            pair = load_pair(con, *candidate.pair)
            if pair is None:  # pragma: no cover - the candidate comes from the same table
                break
            progress = strata(candidates, answers)
            done = sum(p.answered for p in progress)
            console.rule(f"pair {done + 1} of {len(candidates)} candidates · band {pair.band}")
            _print_pair(pair)
            choice = ""
            while choice not in KEYS and choice not in ("q", "quit"):
                choice = (
                    console.input(
                        "[bold]s[/bold](ame) / [bold]d[/bold](ifferent) / [bold]u[/bold](nsure) / [bold]q[/bold](uit)? "
                    )
                    .strip()
                    .lower()
                )
            if choice in ("q", "quit"):
                break
            answer = add_review_answer(
                cfg.state_dir,
                pair.record_key_l,
                pair.record_key_r,
                KEYS[choice],
                who,
                match_probability=pair.match_probability,
            )
            answered_now += 1
            console.print(f"[green]{answer.answer}[/green]" + _decision_note(answer))
    console.print(f"{answered_now} answer(s) recorded by {who}; calibration: c360 review report")


def _decision_note(answer: Any) -> str:
    if answer.decision_id is None:
        return " — no decision recorded; the pair leaves the queue"
    return f" — decision {answer.decision_id} recorded: every run from the next one obeys it"


def _print_pair(pair: Any) -> None:
    table = Table("", pair.record_key_l, pair.record_key_r, title=None, show_lines=False)
    for label, name in (
        ("source", "source_system"),
        ("name", "full_name"),
        ("e-mail", "email"),
        ("phone", "phone_e164"),
        ("born", "date_of_birth"),
        ("street", "street"),
        ("place", None),
    ):
        if name is None:
            values = [f"{r.postcode or ''} {r.city or ''}".strip() for r in (pair.left, pair.right)]
        else:
            values = [str(getattr(r, name) or "") for r in (pair.left, pair.right)]
        marker = "" if not all(values) else ("[green]=[/green] " if values[0] == values[1] else "")
        table.add_row(label, escape(values[0]), marker + escape(values[1]))
    console.print(table)
    evidence = Table("comparison", "level", "weight", title=f"evidence: probability {pair.match_probability:.4f}")
    for item in pair.evidence:
        colour = "green" if item.match_weight > 0 else "red" if item.match_weight < 0 else "dim"
        evidence.add_row(item.comparison, escape(item.level or ""), f"[{colour}]{item.match_weight:+.1f}[/{colour}]")
    console.print(evidence)
    if pair.guard_rail:
        console.print(f"guard rail [bold]{escape(pair.guard_rail)}[/bold] keeps these records apart whatever the score")


# -- non-interactive ---------------------------------------------------------------------------------------------


@review_app.command("answer")
def answer_command(
    record_a: Annotated[str, typer.Argument(help="<source_system>:<source_record_id>")],
    record_b: Annotated[str, typer.Argument(help="the other record")],
    answer: Annotated[str, typer.Argument(help="same, different or unsure")],
    by: ByOption = None,
    reason: Annotated[str | None, typer.Option(help="why (shown with the decision)")] = None,
    snapshot: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Record one answer. same / different also record a decision (must-link / cannot-link) every later run obeys;
    unsure records nothing but takes the pair out of the queue."""
    from customer360.core.decisions import add_review_answer

    cfg = setup(config)
    if answer.lower() not in ("same", "different", "unsure"):
        raise fail(f"answer must be same, different or unsure, got {answer!r}", EXIT_USAGE)
    probability = _candidate_probability(cfg, snapshot, record_a, record_b)
    try:
        recorded = add_review_answer(
            cfg.state_dir, record_a, record_b, answer.lower(), _who(by), reason, match_probability=probability
        )
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from None
    console.print(
        f"answer {recorded.answer_id}: {recorded.record_key_l} and {recorded.record_key_r} — {recorded.answer}"
        + _decision_note(recorded)
    )
    if probability is None:
        console.print(
            "[yellow]not a review candidate of the published snapshot:[/yellow] the decision counts, the report "
            "does not use it as a label (it was not sampled)"
        )


def _candidate_probability(config: Any, path: Path | None, record_a: str, record_b: str) -> float | None:
    """The pair's score if it is a review candidate of the published snapshot (quietly None otherwise)."""
    import duckdb

    from customer360.serving.review import load_pair
    from customer360.serving.snapshots import current_snapshot

    source = path or current_snapshot(config)
    if source is None or not Path(source).exists():
        return None
    con = duckdb.connect(str(source), read_only=True)
    try:
        pair = load_pair(con, record_a, record_b)
    finally:
        con.close()
    return pair.match_probability if pair else None


@review_app.command("report")
def report_command(
    target: Annotated[float, typer.Option(help="precision the recommended threshold must reach (lower bound)")] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    snapshot: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Calibration from the answers: per band the share of `same` with a Wilson 95 % interval, estimated pairwise
    precision and recall at each band edge, and the lowest threshold whose precision lower bound reaches --target.
    Also written as JSON to <data_dir>/reports/review/."""
    from customer360.serving.review import load_candidates
    from entity_resolution.resolve import STORE_THRESHOLD
    from entity_resolution.review import calibrate, write_calibration

    cfg = setup(config)
    if not 0 < target < 1:
        raise fail("--target is a precision between 0 and 1 (e.g. 0.99)", EXIT_USAGE)
    with _snapshot(cfg, snapshot) as con:
        candidates = load_candidates(con)
        run_row = con.execute("select any_value(run_id) from marts.review_candidates").fetchone()
    answers = _answered(cfg.state_dir)
    calibration = calibrate(candidates, answers, target=target, floor=STORE_THRESHOLD)
    path = write_calibration(calibration, cfg.reports_dir, (run_row[0] if run_row else None) or "unknown")
    if as_json:
        print(json.dumps(calibration.as_dict(), indent=2, default=str))  # noqa: T201
        return
    _print_calibration(calibration, cfg.resolution.match_probability_threshold)
    console.print(f"report: {path}")


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f" ({low:.3f}–{high:.3f})"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_calibration(calibration: Any, configured_threshold: float) -> None:
    given = calibration.answers
    console.print(
        f"answers: {given.get('same', 0)} same, {given.get('different', 0)} different, {given.get('unsure', 0)} unsure"
        f" · model {calibration.model_id} · threshold of the last run {calibration.threshold}"
    )
    bands = Table(
        "band",
        "pairs",
        "vetoed",
        "same / different / unsure",
        "share same (95 % CI)",
        "mean score",
        "same if passing / vetoed",
        title="answers per band of match probability",
    )
    for band in calibration.bands:
        bands.add_row(
            band.band,
            f"{band.pairs:,.0f}" + (" (est.)" if band.pairs_is_estimate else ""),
            f"{band.vetoed_share:.0%}",
            f"{band.same} / {band.different} / {band.unsure}",
            _share(band.share_same) + _interval(band.share_same_low, band.share_same_high),
            _share(band.mean_model_probability),
            f"{_share(band.share_same_passing)} / {_share(band.share_same_vetoed)}",
        )
    console.print(bands)
    thresholds = Table(
        "threshold",
        "pairs linked",
        "precision (95 % CI)",
        "recall",
        "false merges",
        "missed",
        "",
        title="if every pair at or above the threshold that no guard rail vetoes were linked",
    )
    for estimate in calibration.thresholds:
        marks = []
        if estimate.threshold == calibration.threshold:
            marks.append("current")
        if estimate.threshold == calibration.recommended_threshold:
            marks.append("[bold green]recommended[/bold green]")
        if estimate.missing:
            marks.append(f"needs answers in {', '.join(estimate.missing)}")
        thresholds.add_row(
            f"{estimate.threshold:g}",
            f"{estimate.linked_pairs:,.0f}",
            _share(estimate.precision) + _interval(estimate.precision_low, estimate.precision_high),
            _share(estimate.recall),
            "—" if estimate.false_merge_pairs is None else f"{estimate.false_merge_pairs:,.1f}",
            "—" if estimate.missed_pairs is None else f"{estimate.missed_pairs:,.1f}",
            "; ".join(marks),
        )
    console.print(thresholds)
    if calibration.recommended_threshold is not None:
        console.print(
            f"recommended threshold for precision ≥ {calibration.target} (lower bound of the 95 % interval): "
            f"[bold]{calibration.recommended_threshold:g}[/bold] → resolution.match_probability_threshold"
        )
    else:
        needed = calibration.answers_needed
        hint = (
            f"; at the current estimate about {needed} more answers above the threshold would get there"
            if needed
            else ""
        )
        console.print(
            f"[yellow]no threshold reaches precision ≥ {calibration.target} at 95 % confidence yet[/yellow]{hint}"
        )
    if configured_threshold != calibration.threshold:
        console.print(
            f"the configuration now says {configured_threshold}; the candidates come from a run at "
            f"{calibration.threshold}"
        )
    for note in calibration.notes:
        console.print(f"[dim]{escape(note)}[/dim]")


@review_app.command("train")
def train_command(
    prior_weight: Annotated[
        float, typer.Option(help="how many labelled pairs the current model counts as when blended with the answers")
    ] = 20.0,
    snapshot: SnapshotOption = None,
    config: ConfigOption = None,
) -> None:
    """Estimate m-probabilities from the pairs answered `same` (weighted by the pairs each stands for), blended with
    the current model, and save them as a new model version that becomes current (the next run resolves everything
    with it)."""
    from customer360.serving.review import load_candidates
    from entity_resolution.model import ModelNotTrained, current_model
    from entity_resolution.review import ReviewTrainingError, train_from_answers
    from entity_resolution.spec import find_spec, load_spec

    cfg = setup(config)
    spec = load_spec(find_spec(cfg.resolution.spec, cfg.root))
    try:
        base = current_model(cfg.resolve_path(cfg.resolution.model_dir), spec)
    except ModelNotTrained as error:
        raise fail(str(error), EXIT_FAILED) from None
    with _snapshot(cfg, snapshot) as con:
        candidates = load_candidates(con, with_gammas=True)
    try:
        model = train_from_answers(base, candidates, _answered(cfg.state_dir), prior_weight=prior_weight)
    except ReviewTrainingError as error:
        raise fail(str(error), EXIT_FAILED) from None
    report = model.training_report
    labels = report["review_labels"]
    console.print(
        f"trained [bold]{model.model_id}[/bold] from {labels['same_used']} pairs answered same "
        f"({labels['same']} same, {labels['different']} different, {labels['unsure']} unsure answers), starting from "
        f"{report['base_model']} (weight {report['prior_weight']:g} pairs) → {model.folder}"
    )
    changes = Table("comparison", "level", "m before", "from labels", "m now", title="m-probabilities")
    for change in report["m_changes"]:
        changes.add_row(
            change["comparison"],
            escape(str(change["level"] or "")),
            "—" if change["m_before"] is None else f"{change['m_before']:.4f}",
            f"{change['m_from_labels']:.4f}",
            f"{change['m_after']:.4f}",
        )
    console.print(changes)
    for clamp in report["clamped"]:
        console.print(
            f"  m of {clamp['comparison']} / {clamp['level']} clamped from {clamp['learned_m']:.3f} to "
            f"{clamp['clamped_to']} (training.m_limits)"
        )
    console.print("it is the current model now: the next run (c360 run) resolves every record with it")
