"""`c360 publish`, `c360 snapshots`, `c360 docs`: the published snapshots and the dbt docs of the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from customer360.cli.common import ConfigOption, console, setup
from customer360.serving.snapshots import (
    DEFAULT_KEEP,
    latest_parquet_run_id,
    list_snapshots,
    parquet_root,
    published_dir,
)

snapshots_app = typer.Typer()


@snapshots_app.command("publish")
def publish_command(
    run_id: Annotated[str | None, typer.Option(help="name of the snapshot [default: a new run id]")] = None,
    keep: Annotated[int, typer.Option(help="how many snapshots to keep")] = DEFAULT_KEEP,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="build the search index and serving store anew instead of rewriting the changed customers in a"
            " copy of the previous snapshot's",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Publish the marts as they are now (e.g. after `c360 dbt -- build`) as the current snapshot."""
    from customer360.core.runs import new_run_id
    from customer360.publish import publish

    cfg = setup(config)
    report = publish(cfg, run_id or new_run_id(datetime.now(UTC)), keep=keep, full=full)
    console.print(report.render())


@snapshots_app.command("snapshots")
def snapshots_command(config: ConfigOption = None) -> None:
    """List the published snapshots (the current one is marked *) and where readers find them."""
    cfg = setup(config)
    snapshots = list_snapshots(cfg)
    if not snapshots:
        console.print(f"nothing published yet under {published_dir(cfg)}")
        return
    for info in snapshots:
        tables = info.manifest.get("tables", {})
        console.print(
            f"{'*' if info.is_current else ' '} {info.run_id}  {info.manifest.get('published_at', '?')}  "
            f"{len(tables)} marts, {sum(tables.values()):,} rows  {info.path}",
            highlight=False,
        )
    exported = latest_parquet_run_id(cfg)
    current = next((info.run_id for info in snapshots if info.is_current), None)
    lag = "" if exported == current else f" — run {exported or 'none'}'s, not the current snapshot's yet"
    console.print(f"Parquet: {parquet_root(cfg) / 'latest'}{lag}", highlight=False)


@snapshots_app.command("docs")
def docs_command(config: ConfigOption = None) -> None:
    """Generate the dbt docs (lineage, models, columns, tests, exposures) and print where they are."""
    from customer360.transform import generate_docs

    cfg = setup(config)
    folder = generate_docs(cfg)
    console.print(f"dbt docs: {folder / 'static_index.html'} (open in a browser; no server needed)", highlight=False)
    console.print(
        f"          or serve {folder} (e.g. `python -m http.server -d {folder}`) and open index.html", highlight=False
    )
