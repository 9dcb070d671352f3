"""The quality gate's thresholds: when a batch is rejected as a whole instead of losing a few rows to
quarantine.

Defaults are below. They are read, in this order of precedence, from environment variables
(`C360_QUALITY_<FIELD>`, e.g. `C360_QUALITY_MAX_BAD_SHARE=0.05`), from a `quality:` section of the
configuration when the configuration model has one, and from these defaults. Tests pass a `QualitySettings`
directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "C360_QUALITY_"


@dataclass(frozen=True)
class QualitySettings:
    # Row-level failures: a batch whose quarantined rows (plus rows ingestion could not parse) exceed this
    # share
    # is rejected as a whole: so many bad rows mean the delivery itself is broken (shifted columns, wrong
    # file).
    max_bad_share: float = 0.1
    # ... but a handful of bad rows never rejects a batch, however small the batch (incremental reads).
    min_bad_rows: int = 20
    # Volume: a batch more than this many times larger than the recent batches of its table is suspicious ...
    volume_jump_ratio: float = 10.0
    # ... once it has at least this many rows (small incremental reads vary a lot).
    volume_jump_min_rows: int = 1000
    # An empty batch is a collapse (rejected) when the recent batches had at least this many rows; a table that
    # gets a handful of rows per delivery is sometimes empty (a warning then).
    volume_collapse_min_rows: int = 10
    # How many earlier accepted batches form the reference for volume and column fill rates.
    history_batches: int = 5
    # Freshness (a warning, never a rejection): the newest change in a batch is at most this many days old.
    freshness_days: float = 30.0
    # A column the recent batches filled is "missing" from a batch where it is entirely empty and the chance
    # of
    # that happening by accident, (1 - fill rate) ** rows, is below this.
    missing_column_chance: float = 1e-6
    # ... judged only for columns the recent batches filled in at least this share of rows: a sparse column
    # (an unsubscribe date) is legitimately empty in a delivery of new subscribers.
    missing_column_min_fill: float = 0.5
    # New columns in a delivery reject the batch (schema stability) unless this is true.
    allow_new_columns: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.max_bad_share <= 1:
            raise ValueError(f"max_bad_share must be between 0 and 1, got {self.max_bad_share}")
        if self.volume_jump_ratio <= 1:
            raise ValueError(f"volume_jump_ratio must be greater than 1, got {self.volume_jump_ratio}")


def load_settings(config: Any = None, environ: dict[str, str] | None = None) -> QualitySettings:
    """Defaults, overridden by `config.quality` (when the configuration has one), then by the environment."""
    settings = QualitySettings()
    section = getattr(config, "quality", None)
    if section is not None:
        values = section if isinstance(section, dict) else getattr(section, "__dict__", {})
        settings = replace(settings, **{f.name: values[f.name] for f in fields(settings) if f.name in values})
    env = os.environ if environ is None else environ
    overrides: dict[str, Any] = {}
    for field in fields(settings):
        raw = env.get(ENV_PREFIX + field.name.upper())
        if raw is None:
            continue
        kind = type(getattr(settings, field.name))
        try:
            overrides[field.name] = raw.strip().lower() in ("1", "true", "yes") if kind is bool else kind(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{field.name.upper()}={raw!r}: expected a {kind.__name__}") from None
    return replace(settings, **overrides) if overrides else settings
