"""Where the product's own files are: its dbt project and the defaults a project may override by path."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

_PACKAGE = Path(__file__).resolve().parents[1]
# an installed wheel carries the dbt project inside the package; a checkout has it at the repository's top level
DBT_PROJECT_DIR = next(
    (path for path in (_PACKAGE / "dbt_project", _PACKAGE.parent / "dbt_project") if path.is_dir()),
    _PACKAGE.parent / "dbt_project",
)
DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
SIGNALS_DOC = DBT_PROJECT_DIR / "models" / "intermediate" / "customers" / "_int_customers__models.yml"


@cache
def customer_signals() -> tuple[str, ...]:
    """The signals next-best-action rules may name: the documented columns of int_customer_signals (a dbt
    test keeps the documentation and the model's columns equal)."""
    models = yaml.safe_load(SIGNALS_DOC.read_text(encoding="utf-8"))["models"]
    model = next(m for m in models if m["name"] == "int_customer_signals")
    return tuple(c["name"] for c in model["columns"] if c["name"] not in ("customer_id", "reference_at"))
