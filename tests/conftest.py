"""Shared test configuration. Fixture modules live in tests/support/ and are registered here as plugins."""

import os
import sys
from pathlib import Path

# tests/ itself is importable (`support.*`) whether or not pytest put it on sys.path already.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# Rich tables and messages at a fixed width: a test worker (pytest-xdist) has no terminal, and at rich's default of
# 80 columns a table cell or a long path would wrap where a test looks for it.
os.environ.setdefault("COLUMNS", "200")

pytest_plugins = [
    "support.postgres",
    "support.http_api",
    "support.demo_pipeline",
    "support.quality",
    "support.console",
    "support.airflow",
]
