"""Where the demo project is: examples/kaufhaus-nord, a customer360 project like any other (its configuration,
rules and dbt models), whose silos this package generates."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEMO_PROJECT = REPO / "examples" / "kaufhaus-nord"
DEMO_CONFIG = DEMO_PROJECT / "customer360.yml"
