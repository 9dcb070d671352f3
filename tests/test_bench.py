"""`c360 bench` (the README's `make bench`) end to end on a small world, run as a user runs it: from another
folder, with a relative work dir. Only that it works and what it reports are checked, never how fast."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_benchmark_runs_every_stage_and_reports_its_ratios(tmp_path: Path) -> None:
    outcome = subprocess.run(
        [str(Path(sys.executable).with_name("c360")), "bench", "--people", "300", "--no-save", "--work-dir", "scratch"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**{key: value for key, value in os.environ.items() if not key.startswith("C360_")}, "COLUMNS": "200"},
    )
    assert outcome.returncode == 0, outcome.stdout[-3000:] + outcome.stderr[-3000:]
    stages = ("check", "ingest", "validate", "resolve", "publish", "yardstick", "resolve_incremental")
    for stage in (*stages, "run_nothing_new", "run_next_delivery", "apply_decision", "run_same_day_delivery"):
        assert re.search(rf"^  {stage}: [\d.,]+ s, peak [\d,]+ MiB$", outcome.stdout, flags=re.MULTILINE), stage
    ratios = dict(re.findall(r"^  (\w+): ([\d.]+)$", outcome.stdout, flags=re.MULTILINE))
    assert {"resolution_vs_bare_splink", "incremental_1pct_vs_full_resolution", "full_run_vs_bare_splink"} <= set(
        ratios
    )
    # freshness: a run with nothing new stops after the gate; the next delivery is an increment of a few per cent
    assert 0 < float(ratios["nothing_new_vs_full_run"]) < float(ratios["next_delivery_vs_full_run"])
    assert 0 < float(ratios["next_delivery_new_records_share"]) < 0.1
    assert 0 < float(ratios["next_delivery_changed_records_share"]) < 0.1
    assert float(ratios["decision_to_published_seconds"]) > float(ratios["decision_to_visible_seconds"]) > 0
    # one silo's delivery within the day rebuilds the marts of its customers only (a full build prints no count)
    assert float(ratios["same_day_delivery_vs_full_run"]) > 0
    assert int(ratios["same_day_delivery_marts_customers"]) >= 1
    assert 0 < float(ratios["precision"]) <= 1 and 0 < float(ratios["recall"]) <= 1
    assert re.search(r"^  households_merged: \d+$", outcome.stdout, flags=re.MULTILINE)  # issue 14's yardstick
    assert (tmp_path / "scratch/people-300/data").is_dir()  # the work dir is where the user said
