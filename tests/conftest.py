"""Shared test configuration. Fixture modules live in tests/support/ and are registered here as plugins."""

import sys
from pathlib import Path

# tests/ itself is importable (`support.*`) whether or not pytest put it on sys.path already.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

pytest_plugins = [
    "support.postgres",
    "support.http_api",
    "support.demo_pipeline",
    "support.quality",
    "support.console",
    "support.airflow",
]
