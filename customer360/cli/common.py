"""What every `c360` command module shares: the consoles, the --config and --verbose options, loading the
configuration with readable errors, and failing with an exit code (docs/architecture.md)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from customer360.core.config import Config, ConfigError, default_config_path, load_config
from customer360.core.errors import EXIT_FAILED, EXIT_USAGE

console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="configuration file [default: $C360_CONFIG or ./customer360.yml]", show_default=False
    ),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="show the log of every library")]
WaitOption = Annotated[
    float, typer.Option("--wait", help="seconds to wait while another process writes the warehouse", min=0)
]


def setup(config_path: Path | None, verbose: bool = False) -> Config:
    """Logging for a command, then the configuration; a configuration error ends the command (exit code 2)."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, rich_tracebacks=False)],
        force=True,
    )
    for noisy in ("splink", "dbt", "great_expectations", "httpx", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        return load_config(config_path or default_config_path())
    except ConfigError as error:
        print_error(error, "configuration error")
        raise typer.Exit(EXIT_USAGE) from None


def print_error(message: object, label: str = "error") -> None:
    """An error for a person: the label in red, the message as it is (`sources[sales]` is not markup)."""
    err.print(f"[red]{label}:[/red] {escape(str(message))}")


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)
