"""Small helpers for tests that need a configuration and a warehouse in a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from customer360.core.config import Config


def make_config(root: Path, sources: dict[str, dict[str, Any]], **extra: Any) -> Config:
    """A Config whose file lives in `root` (relative paths resolve there), warehouse at root/data/w.duckdb."""
    data = {
        "version": 1,
        "warehouse": {"path": "data/warehouse.duckdb", "memory_limit": "1GB", "threads": 2},
        "data_dir": "data",
        "sources": [
            {
                "name": name,
                **{k: v for k, v in body.items() if k != "tables"},
                "tables": [{"name": t, **tb} for t, tb in body.get("tables", {}).items()],
            }
            for name, body in sources.items()
        ],
        **extra,
        "file": root / "customer360.yml",
    }
    return Config.model_validate(data)


def query(config: Config, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def scalar(config: Config, sql: str, params: list[Any] | None = None) -> Any:
    rows = query(config, sql, params)
    return rows[0][0] if rows else None


def counts(config: Config, source: str, table: str) -> tuple[int, int, int]:
    """(raw rows, quarantined rows, batches) for one table."""
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:

        def n(sql: str) -> int:
            try:
                return con.execute(sql).fetchone()[0]
            except duckdb.CatalogException:
                return 0

        return (
            n(f'select count(*) from raw_{source}."{table}"'),
            n(f'select count(*) from quarantine."{source}__{table}"'),
            n(f"select count(*) from meta.batches where source_name = '{source}' and table_name = '{table}'"),
        )


def ledger_balanced(config: Config) -> bool:
    """rows_delivered = rows_loaded + rows_duplicate + rows_rejected for every batch."""
    return (
        scalar(
            config,
            "select count(*) from meta.batches where rows_delivered <> rows_loaded + rows_duplicate + rows_rejected",
        )
        == 0
    )
