"""Run ids: every run of the pipeline (CLI, Airflow, a publish by hand) writes its outputs under one."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id(when: datetime) -> str:
    """Sortable and unique: r20261123T124800Z-3f9a."""
    return f"r{when.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
