"""`c360 demo`: generate the demo silos once, serve the helpdesk stand-in, run the pipeline, say what to do next."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from customer360.config import Config, load_config

console = Console()


REPO = Path(__file__).resolve().parents[2]


def write_config(root: Path, silos: Path, helpdesk_url: str) -> Path:
    """A copy of the repository's customer360.yml with data, silos and helpdesk URL pointed at `root` (used by
    tests and the benchmark, so they run the same configuration as the demo without touching ./data)."""
    text = (REPO / "customer360.yml").read_text(encoding="utf-8")
    replacements = {
        "${C360_DATA_DIR:-data}": str(root / "data"),
        "${C360_SILOS_DIR:-data/silos}": str(silos),
        "${C360_HELPDESK_URL:-http://127.0.0.1:8765/api/v2}": helpdesk_url,
        "entity_resolution/specs/customer.yml": str(REPO / "entity_resolution/specs/customer.yml"),
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
    from customer360.demo.generator import generate_silos

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
    from customer360.demo.helpdesk_api import HelpdeskAPI

    target = ensure_silos(config, people, seed)
    with HelpdeskAPI(target / "service") as api:
        # the service source reads its URL from the environment: point it at the stand-in for this run
        os.environ["C360_HELPDESK_URL"] = api.base_url
        summary = run(load_config(config.file))
    from customer360.console import ensure_demo_users

    console.print()
    console.print("[bold]next steps[/bold]")
    console.print("  the agent console:                        uv run c360 serve   → http://127.0.0.1:8000")
    for username, password, role in ensure_demo_users(config):
        console.print(f"    demo {role} login: {username} / {password}")
    console.print("  look a customer up in the terminal:       uv run c360 lookup 'anna müller'")
    console.print(f"  accuracy against the generator's labels:  uv run c360 evaluate --labels {target / 'labels.csv'}")
    console.print("  why records are one customer:             uv run c360 explain <customer_id>")
    console.print("  rows the quality gate held back:          uv run c360 quarantine list")
    return int(summary.exit_code)
