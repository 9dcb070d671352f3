"""The published snapshot: where it lives and how readers (console, API, BI, CLI) open it.

The publish stage (customer360/publish.py) writes it; everything that serves data reads it from here.

After a successful marts build, every table of schema `marts` is copied into a new DuckDB file, checked, and
only then made current by switching a pointer atomically. A reader therefore always opens a complete snapshot; a
run that fails (before or during publishing) leaves the last good one current. The Parquet export follows the
switch and has its own pointer (`parquet/latest`), switched when the export is complete.

Layout under `<data_dir>/published/`::

    CURRENT                                   one line: snapshots/customer360-<run_id>.duckdb (os.replace'd)
    customer360.duckdb -> snapshots/...       symlink to the same file, for tools that want a fixed path
    snapshots/customer360-<run_id>.duckdb     one immutable file per published run (read-only, mode 0444)
    snapshots/customer360-<run_id>.json       its manifest: run id, times, tables and row counts
    snapshots/customer360-<run_id>.duckdb.*   sidecars built before publishing (the console's search index)
    parquet/<run_id>/<table>.parquet          every mart as Parquet
    parquet/latest -> <run_id>                symlink, switched atomically (parquet/LATEST holds the run id)

Published files are never modified; the last `keep` snapshots (and their Parquet folders) are kept, older ones
deleted (a reader that still has one open keeps reading it: on POSIX an open file outlives its name).

Readers: `current_snapshot(config)` gives the path to open (`duckdb.connect(str(path), read_only=True)`), or
use `connect_current(config)`. Reading CURRENT is one tiny file read: call `current_snapshot()` before each
request and reopen when the path differs from the one you hold.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer360.core.config import Config
from customer360.core.errors import C360Error

MARTS_SCHEMA = "marts"
SNAPSHOT_PREFIX = "customer360-"
POINTER = "CURRENT"
STABLE_LINK = "customer360.duckdb"
DEFAULT_KEEP = 3


class SnapshotUnavailable(C360Error):
    """Nothing is published yet, or the current snapshot could not be opened."""


@dataclass(frozen=True)
class SnapshotInfo:
    run_id: str
    path: Path
    manifest: dict[str, Any]
    is_current: bool


# -- locations -----------------------------------------------------------------------------------------------


def published_dir(config: Config) -> Path:
    return config.data_path / "published"


def snapshots_dir(config: Config) -> Path:
    return published_dir(config) / "snapshots"


def parquet_root(config: Config) -> Path:
    return published_dir(config) / "parquet"


def snapshot_path(config: Config, run_id: str) -> Path:
    return snapshots_dir(config) / f"{SNAPSHOT_PREFIX}{run_id}.duckdb"


# -- readers -------------------------------------------------------------------------------------------------


def current_snapshot(config: Config) -> Path | None:
    """The snapshot readers should open now, or None if nothing has been published yet.

    One small file read (the CURRENT pointer), cheap enough to call before every request: reopen when the
    returned path differs from the one you hold. The file it names is complete and never changes.
    """
    pointer = published_dir(config) / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not name:
        return None
    path = published_dir(config) / name
    return path if path.is_file() else None


def current_run_id(config: Config) -> str | None:
    path = current_snapshot(config)
    return run_id_of(path) if path else None


def connect_current(config: Config, attempts: int = 5) -> Any:
    """A read-only DuckDB connection to the current snapshot (retries if it is replaced while opening)."""
    import duckdb

    last_error: Exception | None = None
    for _ in range(attempts):
        path = current_snapshot(config)
        if path is None:
            raise SnapshotUnavailable(f"nothing published yet under {published_dir(config)}: run `c360 run`")
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:  # pruned between reading the pointer and opening: read it again
            last_error = error
            time.sleep(0.05)
    raise SnapshotUnavailable(f"could not open the current snapshot: {last_error}")


def latest_parquet_run_id(config: Config) -> str | None:
    """The run whose Parquet export `parquet/latest` names (None: none yet). It lags the current snapshot while the
    export is written, and after a failed export until the next publish."""
    try:
        return (parquet_root(config) / "LATEST").read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def list_snapshots(config: Config) -> list[SnapshotInfo]:
    """Published snapshots, newest first."""
    current = current_snapshot(config)
    infos = []
    for path in published_snapshots(config):
        manifest_file = path.with_suffix(".json")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        infos.append(SnapshotInfo(run_id_of(path), path, manifest, current is not None and path == current))
    return infos


def published_snapshots(config: Config) -> list[Path]:
    """Published snapshot files, newest first (by publish time, then name)."""
    folder = snapshots_dir(config)
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob(f"{SNAPSHOT_PREFIX}*.duckdb") if p.is_file()]

    def published(path: Path) -> tuple[str, str]:
        try:
            stamp = json.loads(path.with_suffix(".json").read_text(encoding="utf-8")).get("published_at", "")
        except (OSError, ValueError):
            stamp = ""
        return (stamp, path.name)

    return sorted(files, key=published, reverse=True)


def run_id_of(path: Path) -> str:
    return path.stem.removeprefix(SNAPSHOT_PREFIX)
