"""`c360 init DIR`: scaffold a customer360 project — a commented customer360.yml with a small working example, the
folders a project may use (rules, suites, dbt models) and a README. The product never reads anything from a
project except through the paths its configuration names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated

import typer

from customer360.cli.common import console, fail
from customer360.core.config import DEFAULT_CONFIG
from customer360.core.errors import EXIT_USAGE

TEMPLATE = Path(__file__).resolve().parent / "project_template"
PLACEHOLDERS = ("{project}", "{config}")


def scaffold(folder: Path, project: str) -> list[Path]:
    """Copy the template into `folder` (created if needed); returns the files written. Never overwrites a file."""
    written = []
    config = folder / DEFAULT_CONFIG
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        target = folder / source.relative_to(TEMPLATE)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix in {".yml", ".md"}:
            text = source.read_text(encoding="utf-8").replace("{project}", project).replace("{config}", str(config))
            target.write_text(text, encoding="utf-8")
        else:
            shutil.copy2(source, target)
        written.append(target)
    for name in ("dbt/models", "suites"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    return written


def init(
    folder: Annotated[Path, typer.Argument(help="the project folder (created if needed)")],
    project: Annotated[str | None, typer.Option(help="the project's name [default: the folder's name]")] = None,
) -> None:
    """Create a customer360 project: a commented customer360.yml with a small example that runs as it is, plus
    folders for your rules, quality suites and dbt models."""
    if (folder / DEFAULT_CONFIG).exists():
        raise fail(f"{folder / DEFAULT_CONFIG} exists already: nothing was changed", EXIT_USAGE)
    name = project or re.sub(r"[^A-Za-z0-9_-]+", "-", folder.resolve().name).strip("-") or "customer360"
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", name):
        raise fail(f"project name {name!r}: start with a letter; letters, digits, - and _ only", EXIT_USAGE)
    written = scaffold(folder, name)
    console.print(f"created the customer360 project [bold]{name}[/bold] in {folder.resolve()}:", highlight=False)
    for path in written:
        console.print(f"  {path.relative_to(folder)}", highlight=False)
    config = folder / DEFAULT_CONFIG
    console.print("next:", highlight=False)
    console.print(f"  c360 run --config {config}            # runs the example end to end", highlight=False)
    console.print(f"  c360 lookup --config {config} ada     # a customer's 360° view", highlight=False)
    console.print(
        "  then replace the example under sources: with your silos (docs/bring-your-own-silos.md)", highlight=False
    )
