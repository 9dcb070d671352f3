"""The console reads one thing: the published snapshot (a read-only DuckDB file with every marts table).

`snapshot_source(config)` is the one place that says which file that is. `SnapshotManager` keeps the current
snapshot open read-only and checks the publish pointer at most every few seconds; when a new snapshot appears it
opens it (and its search index) beside the old one, switches over atomically, and closes the old one a minute
later, so requests in flight finish on the snapshot they started with. A pipeline run never blocks the console:
publishing writes a new file and flips a pointer; the console never opens the warehouse being written.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from customer360.core.config import Config
from customer360.serving.search_index import (
    INDEX_VERSION,
    IndexUnavailable,
    SearchIndex,
    build_search_index,
    read_meta,
    sidecar_path,
)

log = logging.getLogger(__name__)

SCHEMA = "marts"
RETIRE_AFTER_SECONDS = 60.0


class SnapshotUnavailable(RuntimeError):
    """No snapshot has been published yet (run the pipeline: `c360 demo` or `c360 run`)."""


def snapshot_source(config: Config) -> Path | None:
    """The file the console reads: the current published snapshot (customer360.publish), or None."""
    from customer360.serving.snapshots import current_snapshot

    return current_snapshot(config)


def _stat_key(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}|{stat.st_mtime_ns}"


def index_cache_dir(config: Config) -> Path:
    return config.state_dir / "console" / "search"


def ensure_index(snapshot: Path, cache_dir: Path) -> Path:
    """The search index of a snapshot: the publisher's sidecar if it matches, else one built (once) in the cache."""
    key = _stat_key(snapshot)
    sidecar = sidecar_path(snapshot)
    if sidecar.exists() and _index_matches(sidecar, key):
        return sidecar
    digest = hashlib.sha1(f"{snapshot.resolve()}|{key}".encode()).hexdigest()[:16]
    target = cache_dir / f"{snapshot.stem}-{digest}.sqlite"
    if target.exists() and _index_matches(target, key):
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.with_suffix(".lock")):  # several console workers: one builds, the others wait
        if not (target.exists() and _index_matches(target, key)):
            build_search_index(snapshot, target, schema=SCHEMA, threads=2)
    _prune_cache(cache_dir, keep=target)
    return target


def _index_matches(index: Path, stat_key: str) -> bool:
    meta = read_meta(index)
    return meta.get("version") == INDEX_VERSION and meta.get("fingerprint", "").endswith(stat_key)


def _prune_cache(cache_dir: Path, keep: Path, keep_count: int = 3) -> None:
    indexes = sorted(cache_dir.glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in indexes[keep_count:]:
        if old != keep:
            with contextlib.suppress(OSError):
                old.unlink()
                old.with_suffix(".lock").unlink(missing_ok=True)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Snapshot:
    """One open, read-only snapshot and its search index. Share it between threads; use `cursor()` per thread."""

    path: Path
    index: SearchIndex
    con: Any  # duckdb.DuckDBPyConnection
    tables: dict[str, set[str]]
    opened_at: datetime
    published_at: datetime | None
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _cursors: list[Any] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    closed: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    def has(self, table: str, column: str | None = None) -> bool:
        columns = self.tables.get(table)
        return columns is not None and (column is None or column in columns)

    def cursor(self) -> Any:
        """A DuckDB cursor for the calling thread (DuckDB connections are not shared between threads)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            if self.closed:
                raise SnapshotUnavailable("snapshot closed")
            cursor = self.con.cursor()
            self._local.cursor = cursor
            with self._lock:
                self._cursors.append(cursor)
        return cursor

    def close(self) -> None:
        self.closed = True
        self.index.close()
        with self._lock:
            for cursor in self._cursors:
                with contextlib.suppress(Exception):
                    cursor.close()
            self._cursors.clear()
        with contextlib.suppress(Exception):
            self.con.close()


def duckdb_config(threads: int = 1) -> dict[str, Any]:
    """How the console opens a snapshot. In one process, DuckDB shares a file between connections only when they
    use the same configuration: other in-process readers of the snapshot (tests) pass this too."""
    return {
        "threads": threads,
        "memory_limit": "2GB",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }


def open_snapshot(path: Path, cache_dir: Path, threads: int = 1) -> Snapshot:
    """Open a snapshot file read-only (building its search index first if there is none)."""
    import duckdb

    if not path.exists():
        raise SnapshotUnavailable(f"snapshot {path} does not exist")
    try:
        index = SearchIndex(ensure_index(path, cache_dir))
    except IndexUnavailable as error:
        raise SnapshotUnavailable(str(error)) from None
    con = duckdb.connect(str(path), read_only=True, config=duckdb_config(threads))
    con.execute("set timezone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    # Point lookups by customer_id on tables sorted by it: late materialisation makes top-N queries scan far more.
    with contextlib.suppress(Exception):
        con.execute("set disabled_optimizers = 'late_materialization'")
    tables: dict[str, set[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from duckdb_columns() where schema_name = ?", [SCHEMA]
    ).fetchall():
        tables.setdefault(table, set()).add(column)
    published_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    with contextlib.suppress(Exception):  # publish records the moment in meta.snapshot
        row = con.execute("select published_at from meta.snapshot limit 1").fetchone()
        if row and row[0] is not None:
            published_at = row[0]
    return Snapshot(
        path=path,
        index=index,
        con=con,
        tables=tables,
        opened_at=datetime.now(UTC),
        published_at=published_at,
    )


class SnapshotManager:
    """Keeps the current snapshot open and follows the publish pointer (checked at most every `check_seconds`)."""

    def __init__(self, config: Config, override: Path | None = None, check_seconds: float = 2.0, threads: int = 1):
        self.config = config
        self.override = override
        self.check_seconds = check_seconds
        self.threads = threads
        self.cache_dir = index_cache_dir(config)
        self._active: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._switching: Path | None = None
        self._failed: dict[Path, float] = {}

    def source(self) -> Path | None:
        return self.override if self.override is not None else snapshot_source(self.config)

    def current(self) -> Snapshot:
        """The snapshot to answer this request from. Cheap: a time check, and a pointer read every few seconds."""
        now = time.monotonic()
        active = self._active
        if active is not None and now - self._checked_at < self.check_seconds:
            return active
        with self._lock:
            if self._active is not None and time.monotonic() - self._checked_at < self.check_seconds:
                return self._active
            self._checked_at = time.monotonic()
            path = self.source()
            if path is None:
                if self._active is not None:
                    return self._active
                raise SnapshotUnavailable(
                    "no published snapshot yet: run the pipeline first (`c360 demo` or `c360 run`)"
                )
            if self._active is not None and self._active.path == path:
                return self._active
            if self._active is None:
                self._active = open_snapshot(path, self.cache_dir, self.threads)
                log.info("console: serving snapshot %s", path)
                return self._active
            if self._switching is None and now - self._failed.get(path, -1e9) > 30:
                self._switching = path
                threading.Thread(target=self._switch, args=(path,), name="c360-snapshot-switch", daemon=True).start()
            return self._active

    def refresh(self, wait: bool = True) -> Snapshot:
        """Check the pointer now (tests, admin): switch to a new snapshot, waiting for it if `wait`."""
        self._checked_at = 0.0
        snapshot = self.current()
        if wait:
            while self._switching is not None:
                time.sleep(0.05)
            snapshot = self._active or snapshot
        return snapshot

    def _switch(self, path: Path) -> None:
        try:
            snapshot = open_snapshot(path, self.cache_dir, self.threads)
        except Exception:  # keep serving the old snapshot; retry later
            log.exception("console: cannot open new snapshot %s; still serving %s", path, self._active)
            self._failed[path] = time.monotonic()
            self._switching = None
            return
        with self._lock:
            old, self._active = self._active, snapshot
            self._switching = None
        log.info("console: switched to snapshot %s", path)
        if old is not None:
            timer = threading.Timer(RETIRE_AFTER_SECONDS, old.close)
            timer.daemon = True
            timer.start()

    def close(self) -> None:
        with self._lock:
            if self._active is not None:
                self._active.close()
                self._active = None


def snapshot_info(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "file": snapshot.name,
        "published_at": snapshot.published_at,
        "opened_at": snapshot.opened_at,
        "customers": snapshot.index.customer_count(),
        "search_index_built_at": snapshot.index.meta.get("built_at"),
    }
