"""The development tools' commands on `c360` (entry point `customer360.cli` in devtools/pyproject.toml):
`c360 generate`, `c360 demo`, `c360 bench`, `c360 bench-accuracy`, `c360 bench-console`. They exist where the
repository's devtools are installed (`make setup`), not in the product itself."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from c360_devtools.demo.project import DEMO_CONFIG
from customer360.cli import run_and_report
from customer360.cli.common import ConfigOption, VerboseOption, console
from customer360.cli.common import setup as _setup


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(demo)
    app.command()(bench)
    app.command("bench-accuracy")(bench_accuracy)
    app.command("bench-console")(bench_console)


def _variety_help() -> str:
    from c360_devtools.demo.variety import Variety

    defaults = Variety()
    knobs = ", ".join(f"{name}={getattr(defaults, name)}" for name in Variety.knobs())
    return f"KNOB=RATE, repeatable: change a rate of the harder variations (defaults: {knobs}; see docs/demo-silos.md)"


VarietyOption = Annotated[
    list[str] | None, typer.Option("--variety", metavar="KNOB=RATE", help=_variety_help(), show_default=False)
]
PlainOption = Annotated[
    bool, typer.Option("--plain", help="no variation beyond the sources' baseline (the generator's 1.0 output)")
]


def _variety(settings: list[str] | None, plain: bool):
    from c360_devtools.demo.variety import Variety

    try:
        return (Variety.none() if plain else Variety()).with_rates(settings or [])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--variety") from error


def generate(
    people: Annotated[int, typer.Option(help="how many people live in the demo world")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed: the same seed gives the same files")] = 42,
    deliveries: Annotated[int, typer.Option(help="how many deliveries the records are spread over")] = 2,
    upto: Annotated[int | None, typer.Option(help="write deliveries 1..UPTO only [default: all]")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder [default: data/silos beside the config]")] = None,
    variety: VarietyOption = None,
    plain: PlainOption = False,
    config: ConfigOption = None,
) -> None:
    """Generate the demo silos of a German retailer (marketing CSV/JSONL, shop SQLite, helpdesk JSON) + labels
    into the demo project (examples/kaufhaus-nord, or --config)."""
    from c360_devtools.demo.generator import generate_silos

    rates = _variety(variety, plain)
    cfg = _setup(config or DEMO_CONFIG)
    target = out or cfg.root / os.environ.get("C360_SILOS_DIR", "data/silos")
    result = generate_silos(target, people=people, seed=seed, deliveries=deliveries, upto=upto, variety=rates)
    table = Table("table", "rows", title=f"demo silos in {result.out_dir}")
    for name, rows in sorted(result.row_counts.items()):
        table.add_row(name, f"{rows:,}")
    console.print(table)
    console.print(f"labels (which records are the same person): {result.labels_path}")


def demo(
    people: Annotated[int, typer.Option(help="how many people live in the demo world")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Generate the demo silos (once), serve the helpdesk API stand-in, and run the whole pipeline.

    The demo is the project examples/kaufhaus-nord (or --config): its data lands in its data/ folder."""
    from c360_devtools.demo.run import run_demo

    cfg = _setup(config or DEMO_CONFIG, verbose)
    raise typer.Exit(run_demo(cfg, people=people, seed=seed, run=lambda c: run_and_report(c, full=False, sources=None)))


def bench(
    people: Annotated[int, typer.Option(help="how many demo people to generate")] = 100_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    work_dir: Annotated[Path, typer.Option(help="scratch folder for silos and warehouse")] = Path("data/bench"),
    save: Annotated[bool, typer.Option(help="write the results file (commit it with the machine details)")] = True,
    results: Annotated[Path | None, typer.Option(help="the results file [default: bench/results.json]")] = None,
) -> None:
    """Benchmark: per-stage wall time and peak memory, resolution vs. a bare Splink yardstick, incremental +1 %."""
    from c360_devtools import bench as benchmark

    _setup(DEMO_CONFIG)
    console.print(f"benchmark: {people:,} people in {work_dir}")
    result = benchmark.run_bench(work_dir.resolve() / f"people-{people}", people, seed, progress=console.print)
    table = Table("stage", "seconds", "peak memory (MiB)", title=f"customer360 benchmark, {people:,} people")
    for timing in result.stages:
        table.add_row(timing.stage, f"{timing.seconds:,.1f}", f"{timing.peak_memory_mib:,.0f}")
    console.print(table)
    for name, value in {**result.ratios, **result.accuracy}.items():
        console.print(f"  {name}: {value}")
    if save:
        console.print(f"results saved to {benchmark.save(result, results or benchmark.RESULTS)}")


def bench_accuracy(
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            "-d",
            metavar="NAME",
            help="a data set to measure, repeatable: demo, strangers, febrl1, febrl2, febrl3, febrl4, febrl4-default "
            "[default: all]",
            show_default=False,
        ),
    ] = None,
    demo_people: Annotated[int, typer.Option(help="people in the demo world")] = 10_000,
    demo_seed: Annotated[int, typer.Option(help="seed of the demo world")] = 42,
    demo_variety: Annotated[
        list[str] | None,
        typer.Option(
            "--demo-variety", metavar="KNOB=RATE", help="change a rate of the demo's variety (see c360 generate --help)"
        ),
    ] = None,
    strangers_people: Annotated[int, typer.Option(help="people in Gipfelwerk's world (the strangers)")] = 5_000,
    strangers_seed: Annotated[int, typer.Option(help="seed of Gipfelwerk's world")] = 3,
    strangers_plain: Annotated[
        bool, typer.Option("--strangers-plain", help="Gipfelwerk without its variety (the world of issue 13)")
    ] = False,
    sweep: Annotated[
        list[float] | None,
        typer.Option(
            metavar="THRESHOLD",
            help="a threshold to resolve every data set at again, repeatable [default: 0.5, 0.8, 0.9, 0.95, 0.99]",
            show_default=False,
        ),
    ] = None,
    no_sweep: Annotated[bool, typer.Option("--no-sweep", help="only the configured threshold")] = False,
    work_dir: Annotated[Path, typer.Option(help="scratch folder: one project per data set")] = Path(
        "data/bench/accuracy"
    ),
    save: Annotated[bool, typer.Option(help="write bench/accuracy.json (with the machine and the parameters)")] = True,
    docs: Annotated[
        bool, typer.Option("--docs", help="rewrite the accuracy section of docs/entity-resolution.md from the results")
    ] = False,
) -> None:
    """Accuracy of the product's defaults on every labelled data set: precision, recall, F1, false merges, merged
    households, resolution time, and the missed true pairs by what the records share and by kind of variation."""
    from pydantic import ValidationError

    from c360_devtools import accuracy
    from customer360.core.config import ResolutionConfig

    chosen = tuple(dataset or accuracy.DATASETS)
    unknown = set(chosen) - set(accuracy.DATASETS)
    if unknown:
        raise typer.BadParameter(
            f"unknown data set(s) {sorted(unknown)}; data sets are {', '.join(accuracy.DATASETS)}",
            param_hint="--dataset",
        )
    _variety(demo_variety, plain=False)  # checks the settings
    options = accuracy.Options(
        demo_people=demo_people,
        demo_seed=demo_seed,
        demo_variety={
            key.strip(): float(rate) for key, _, rate in (item.partition("=") for item in demo_variety or [])
        },
        strangers_people=strangers_people,
        strangers_seed=strangers_seed,
        strangers_variety=not strangers_plain,
        sweep=() if no_sweep else tuple(sweep or accuracy.SWEEP),
    )
    for threshold in options.sweep:  # the bounds a project's configuration allows
        try:
            ResolutionConfig(match_probability_threshold=threshold)
        except ValidationError as error:
            raise typer.BadParameter(f"{threshold}: {error.errors()[0]['msg'].lower()}", param_hint="--sweep") from None
    console.print(f"accuracy benchmark: {', '.join(chosen)} in {work_dir}")
    report = accuracy.run_all(work_dir.resolve(), options, chosen, progress=console.print)
    table = Table(
        "data set", "precision", "recall", "F1", "customers", "people", "false merges", "households merged", "resolve s"
    )
    for result in report["datasets"]:
        if "error" in result:
            table.add_row(result["title"], "failed", "", "", "", "", "", "", "")
            continue
        table.add_row(
            result["title"],
            f"{result['precision']:.4f}",
            f"{result['recall']:.4f}",
            f"{result['f1']:.4f}",
            f"{result['customers']:,}",
            f"{result['true_people']:,}",
            f"{result['false_merge_pairs']:,}",
            str(result.get("households_merged", "–")),
            str(result["resolve_seconds"]),
        )
    console.print(table)
    for result in report["datasets"]:
        for row in result.get("sweep", []):
            households = f", {row['households_merged']} households merged" if "households_merged" in row else ""
            console.print(
                f"  {result['name']} at {row['threshold']}: precision {row['precision']:.4f}, "
                f"recall {row['recall']:.4f}{households}"
            )
    for result in report["datasets"]:
        for entry in result.get("missed_by_kind", [])[:6]:
            console.print(
                f"  {result['name']}: {entry['kind']}: {entry['missed_pairs']:,} of {entry['true_pairs']:,} true pairs "
                f"missed (recall {entry['recall']})"
            )
    if save:
        console.print(f"results saved to {accuracy.save(report)}")
    if docs:
        console.print(f"accuracy section rewritten in {accuracy.write_docs(report)}")
    if any("error" in result for result in report["datasets"]):
        raise typer.Exit(1)


def bench_console(
    customers: Annotated[int, typer.Option(help="synthetic customers in the benchmark snapshot")] = 1_000_000,
    users: Annotated[int, typer.Option(help="concurrent virtual agents")] = 20,
    duration: Annotated[float, typer.Option(help="seconds per scenario")] = 30.0,
    think: Annotated[float, typer.Option(help="mean pause between an agent's requests (s); 0 = flat out")] = 1.0,
    workers: Annotated[int, typer.Option(help="console worker processes")] = 2,
    out: Annotated[Path, typer.Option(help="where the snapshot, state and report go")] = Path("data/bench/console"),
    saturation: Annotated[bool, typer.Option(help="also run once without think time")] = True,
    snapshot: Annotated[
        Path | None, typer.Option(help="a published snapshot to load-test instead of a synthetic one")
    ] = None,
) -> None:
    """Load-test the console on loopback: search and customer page p50/p95/p99 at N concurrent agents."""
    from c360_devtools.console_bench import run_benchmark

    report = run_benchmark(
        out=out,
        customers=customers,
        users=users,
        duration=duration,
        think=think,
        workers=workers,
        saturation=saturation,
        echo=console.print,
        snapshot=snapshot,
    )
    console.print_json(json.dumps(report, default=str))
