"""Commands from other installed packages: each registers itself under the entry-point group `customer360.cli`
with a function `register(app: typer.Typer)`. The repository's development tools (`c360 demo`, `c360 bench`, ...)
come this way, so the product never imports them; a company can add its own commands the same way."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import typer

ENTRY_POINT_GROUP = "customer360.cli"
log = logging.getLogger(__name__)


def register_plugins(app: typer.Typer) -> list[str]:
    """Call every installed `customer360.cli` entry point with the app; returns their names. A plugin that fails
    to load is reported and skipped: the product's own commands keep working."""
    loaded = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        try:
            entry_point.load()(app)
        except Exception as error:  # noqa: BLE001 - a broken extension must not take the CLI down with it
            log.warning("c360 extension %s (%s) not loaded: %s", entry_point.name, entry_point.value, error)
            continue
        loaded.append(entry_point.name)
    return loaded
