"""A small demo world run through the real pipeline once per test session, for integration tests to read.

`demo_pipeline` (session scope) generates the demo silos for a few hundred people, serves the helpdesk stand-in,
and runs every stage of `c360 run` on a fresh warehouse in a temp directory. Tests must treat it as read-only;
a test that changes state copies it first with `copy_demo(demo_pipeline, tmp_path)`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from c360_devtools.demo.project import REPO  # noqa: F401 - re-exported for tests
from c360_devtools.demo.run import write_config as write_demo_config  # noqa: F401 - re-exported for tests

from customer360 import pipeline
from customer360.core.config import Config, load_config

DEMO_PEOPLE = 400
DEMO_SEED = 11


@dataclass
class DemoRun:
    root: Path  # holds customer360.yml, data/ and silos/
    config: Config
    summary: pipeline.RunSummary
    silos: Path

    @property
    def labels(self) -> Path:
        return self.silos / "labels.csv"


def run_demo_pipeline(root: Path, people: int = DEMO_PEOPLE, seed: int = DEMO_SEED, upto: int | None = None) -> DemoRun:
    from c360_devtools.demo.generator import generate_silos
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI
    from c360_devtools.demo.run import write_config

    silos = root / "silos"
    generate_silos(silos, people=people, seed=seed, upto=upto)
    with HelpdeskAPI(silos / "service") as api:
        config = load_config(write_config(root, silos, api.base_url))
        ctx = pipeline.RunContext.new(config)
        summary = pipeline.run_pipeline(ctx, pipeline.default_stages())
    return DemoRun(root, config, summary, silos)


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    root = tmp_path_factory.mktemp("demo")
    run = run_demo_pipeline(root)
    assert run.summary.exit_code == 0, f"demo pipeline failed: {run.summary.status}: {run.summary.message}"
    yield run


def copy_demo(run: DemoRun, target: Path) -> DemoRun:
    """A private copy (warehouse, state, silos) that a test may change; the config points at the copy."""
    shutil.copytree(run.root, target, symlinks=True, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.wal"))
    text = (target / "customer360.yml").read_text(encoding="utf-8").replace(str(run.root), str(target))
    (target / "customer360.yml").write_text(text, encoding="utf-8")
    return DemoRun(target, load_config(target / "customer360.yml"), run.summary, target / "silos")
