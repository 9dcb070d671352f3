"""`c360 demo`: generate the demo silos once, serve the helpdesk stand-in, run the pipeline, say what to do next."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from c360_devtools.demo.project import DEMO_CONFIG, DEMO_PROJECT
from customer360.core.config import Config, load_config

console = Console()


def write_config(root: Path, silos: Path, helpdesk_url: str) -> Path:
    """The demo project copied to `root` (configuration, rules, dbt models), with data, silos and the helpdesk URL
    pointed at `root` (used by tests and the benchmark, so they run the demo's configuration without touching the
    example's data folder)."""
    root.mkdir(parents=True, exist_ok=True)
    for item in DEMO_PROJECT.iterdir():
        if item.name in {"customer360.yml", "data"}:
            continue
        target = root / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    replacements = {
        "${C360_DATA_DIR:-data}": str(root / "data"),
        "${C360_SILOS_DIR:-data/silos}": str(silos),
        "${C360_HELPDESK_URL:-http://127.0.0.1:8765/api/v2}": helpdesk_url,
    }
    for old, new in replacements.items():
        text = text.replace(old, new)
    path = root / "customer360.yml"
    path.write_text(text, encoding="utf-8")
    return path


def silos_dir(config: Config) -> Path:
    return config.root / os.environ.get("C360_SILOS_DIR", "data/silos")


def ensure_silos(config: Config, people: int, seed: int) -> Path:
    """Generate the silos unless the same world (people, seed) is already there: re-running adds nothing."""
    from c360_devtools.demo.generator import generate_silos

    target = silos_dir(config)
    manifest = target / "manifest.json"
    if manifest.is_file():
        existing = json.loads(manifest.read_text(encoding="utf-8"))
        if existing.get("people") == people and existing.get("seed") == seed:
            console.print(f"demo silos for {people:,} people (seed {seed}) already in {target}")
            return target
        console.print(
            f"[yellow]{target} holds another demo world ({existing.get('people')} people, seed {existing.get('seed')}); "
            f"writing {people:,} people, seed {seed} over it[/yellow]"
        )
    result = generate_silos(target, people=people, seed=seed)
    console.print(f"generated demo silos for {people:,} people in {result.out_dir}")
    return target


def run_demo(config: Config, people: int, seed: int, run: Callable[[Config], Any]) -> int:
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI

    target = ensure_silos(config, people, seed)
    with HelpdeskAPI(target / "service") as api:
        # the service source reads its URL from the environment: point it at the stand-in for this run
        os.environ["C360_HELPDESK_URL"] = api.base_url
        summary = run(load_config(config.file))
    from customer360.console import reset_demo_logins

    console.print()
    console.print("[bold]next steps[/bold] (in this shell, first):", highlight=False)
    console.print("  source .venv/bin/activate", highlight=False)
    console.print(f"  export C360_CONFIG={_shown(config.file)}", highlight=False)
    console.print("  the agent console:                        c360 serve   → http://127.0.0.1:8000", highlight=False)
    for username, password, role in reset_demo_logins(config):
        console.print(f"    demo {role} login: {username} / {password}", highlight=False)
    console.print("  look a customer up in the terminal:       c360 lookup 'anna müller'", highlight=False)
    console.print(
        f"  accuracy against the generator's labels:  c360 evaluate --labels {_shown(target / 'labels.csv')}",
        highlight=False,
    )
    console.print("  why records are one customer:             c360 explain <customer_id>", highlight=False)
    console.print("  rows the quality gate held back:          c360 quarantine list", highlight=False)
    return int(summary.exit_code)


def _shown(path: Path) -> str:
    """A path as the user typed it from the current folder, where that is shorter."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
