"""Publish the marts as a read-only snapshot that readers (console, API, BI) open, never the warehouse itself.

After a successful marts build, every table of schema `marts` is copied into a new DuckDB file, checked,
exported to Parquet, and only then made current by switching a pointer atomically. A reader therefore always
opens a complete snapshot; a run that fails (before or during publishing) leaves the last good one current.

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

import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from customer360.config import Config, ConfigError, default_config_path, load_config
from customer360.errors import StageFailed

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
SNAPSHOT_PREFIX = "customer360-"
POINTER = "CURRENT"
STABLE_LINK = "customer360.duckdb"
DEFAULT_KEEP = 3
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PublishError(StageFailed):
    """Publishing failed; the previously published snapshot is still current."""


@dataclass
class PublishReport:
    run_id: str
    snapshot: Path
    parquet_dir: Path
    tables: dict[str, int] = field(default_factory=dict)
    published_at: str = ""
    reference_at: str | None = None
    reused: bool = False  # the same run published before (a retry): its files were kept, only the pointer switched
    pruned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # what the run produced, for the final summary of `c360 run`
    customers: int | None = None
    source_records: int | None = None
    multi_record_customers: int | None = None
    records_merged: int | None = None
    quarantined_rows: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "customers": self.customers,
            "source_records": self.source_records,
            "multi_record_customers": self.multi_record_customers,
            "records_merged": self.records_merged,
            "quarantined_rows": self.quarantined_rows,
            "snapshot": str(self.snapshot),
            "parquet": str(self.parquet_dir),
            "tables": len(self.tables),
            "rows": sum(self.tables.values()),
            "reference_at": self.reference_at,
            "published_at": self.published_at,
            "reused": self.reused,
            "pruned": self.pruned,
            "seconds": round(self.seconds, 3),
        }

    def render(self) -> str:
        rows = sum(self.tables.values())
        lines = [f"published snapshot {self.snapshot} ({len(self.tables)} marts, {rows:,} rows)"]
        if self.customers is not None:
            lines.append(
                f"  {self.customers:,} customers from {self.source_records or 0:,} source records "
                f"({self.multi_record_customers or 0:,} with 2+ records, "
                f"{self.records_merged or 0:,} records merged); "
                f"{self.quarantined_rows or 0:,} rows in quarantine"
            )
        lines.append(f"  Parquet: {self.parquet_dir}")
        return "\n".join(lines)


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


def docs_dir(config: Config) -> Path:
    return config.reports_dir / "dbt_docs"


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
    return _run_id_of(path) if path else None


def connect_current(config: Config, attempts: int = 5) -> Any:
    """A read-only DuckDB connection to the current snapshot (retries if it is replaced while opening)."""
    import duckdb

    last_error: Exception | None = None
    for _ in range(attempts):
        path = current_snapshot(config)
        if path is None:
            raise FileNotFoundError(f"nothing published yet under {published_dir(config)}: run `c360 run`")
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:  # pruned between reading the pointer and opening: read it again
            last_error = error
            time.sleep(0.05)
    raise PublishError(f"could not open the current snapshot: {last_error}")


def list_snapshots(config: Config) -> list[SnapshotInfo]:
    """Published snapshots, newest first."""
    current = current_snapshot(config)
    infos = []
    for path in _published_snapshots(config):
        manifest_file = path.with_suffix(".json")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        infos.append(SnapshotInfo(_run_id_of(path), path, manifest, current is not None and path == current))
    return infos


# -- publishing ----------------------------------------------------------------------------------------------


def publish(config: Config, run_id: str, keep: int = DEFAULT_KEEP) -> PublishReport:
    """Publish every table of schema `marts` as snapshot `customer360-<run_id>.duckdb` plus Parquet, then make
    it current. Idempotent per run id: a retry reuses what an earlier attempt of the same run completed.
    Raises PublishError (the previous snapshot stays current) if anything fails."""
    if not _RUN_ID.match(run_id):
        raise PublishError(f"run id {run_id!r} cannot name a file")
    if keep < 1:
        raise PublishError("keep at least one snapshot")
    started = time.perf_counter()
    for folder in (snapshots_dir(config), parquet_root(config)):
        folder.mkdir(parents=True, exist_ok=True)
    with _publish_lock(config):
        _remove_leftovers(config)
        created: list[Path] = []
        try:
            report = _publish_locked(config, run_id, created)
        except PublishError:
            _discard(created)
            raise
        except Exception as error:  # noqa: BLE001 - any failure must leave the last good snapshot current
            _discard(created)
            raise PublishError(
                f"publishing run {run_id} failed, the previous snapshot stays current: {error}"
            ) from error
        report.pruned = _prune(config, keep)
    report.seconds = time.perf_counter() - started
    log.info("published %s (%d marts)", report.snapshot, len(report.tables))
    return report


def _publish_locked(config: Config, run_id: str, created: list[Path]) -> PublishReport:
    from customer360 import warehouse

    final = snapshot_path(config, run_id)
    parquet_final = parquet_root(config) / run_id
    published_at = datetime.now(UTC).isoformat(timespec="microseconds")
    suffix = f".tmp-{os.getpid()}"

    with warehouse.session(config, read_only=True) as con:
        tables = _mart_tables(con)
        if not tables:
            raise PublishError(f"schema {MARTS_SCHEMA} has no tables: build the marts first (`c360 run`)")
        expected = {table: _count(con, f"{MARTS_SCHEMA}.{_quote(table)}") for table in tables}
        facts = _run_facts(con)
        reused = final.is_file()
        if not reused:
            temporary = final.with_name(f".{final.name}{suffix}")
            created.append(temporary)
            _copy_marts(con, temporary, tables, run_id, published_at, facts.get("reference_at"))
    if reused:  # complete by construction (renamed into place only after its check); published files never change
        log.info("snapshot %s was published before (retry of run %s): keeping it", final.name, run_id)
        counts = _snapshot_counts(final)
        source = final
    else:
        counts = _snapshot_counts(temporary)
        source = temporary
        if counts != expected:
            raise PublishError(f"snapshot does not match the marts it was copied from: {counts} != {expected}")

    if not parquet_final.is_dir():
        parquet_temporary = parquet_root(config) / f".{run_id}{suffix}"
        created.append(parquet_temporary)
        _export_parquet(source, parquet_temporary, tables)
    if not reused:
        _fsync(temporary)
        os.replace(temporary, final)
        created.append(final)
        os.chmod(final, 0o444)
    if not parquet_final.is_dir():
        os.replace(parquet_temporary, parquet_final)
        created.append(parquet_final)
    _fsync_dir(final.parent)
    _fsync_dir(parquet_final.parent)
    created.extend(_build_sidecars(final))

    manifest = final.with_suffix(".json")
    if not manifest.is_file():
        _atomic_write(
            manifest,
            json.dumps(
                {
                    "run_id": run_id,
                    "published_at": published_at,
                    "reference_at": facts.get("reference_at"),
                    "snapshot": final.name,
                    "parquet": str(parquet_final),
                    "tables": counts,
                },
                indent=2,
            )
            + "\n",
        )
        created.append(manifest)

    # the commit point: nothing above is visible to readers until CURRENT names the new file
    _atomic_write(published_dir(config) / POINTER, f"snapshots/{final.name}\n")
    created.clear()
    # conveniences that follow CURRENT (a failure here is logged, the snapshot is published)
    try:
        _atomic_symlink(published_dir(config) / STABLE_LINK, f"snapshots/{final.name}")
        _atomic_symlink(parquet_root(config) / "latest", run_id)
        _atomic_write(parquet_root(config) / "LATEST", run_id + "\n")
    except OSError as error:
        log.warning("snapshot %s is current, but a convenience pointer could not be switched: %s", final.name, error)

    return PublishReport(
        run_id=run_id,
        snapshot=final,
        parquet_dir=parquet_final,
        tables=counts,
        published_at=published_at,
        reference_at=facts.get("reference_at"),
        reused=reused,
        customers=facts.get("customers"),
        source_records=facts.get("source_records"),
        multi_record_customers=facts.get("multi_record_customers"),
        records_merged=facts.get("records_merged"),
        quarantined_rows=facts.get("quarantined_rows"),
    )


def _build_sidecars(snapshot: Path) -> list[Path]:
    """Files readers want beside a new snapshot before it becomes current: today the console's search index,
    so the snapshot is searchable the moment it is published. Best effort: else the console builds its own."""
    try:
        from customer360.console.search_index import build_search_index, sidecar_path
    except ImportError:
        return []
    target = sidecar_path(snapshot)
    if target.is_file():
        return []
    try:
        build_search_index(snapshot, target, schema=MARTS_SCHEMA)
    except Exception as error:  # noqa: BLE001 - an index is a convenience, never a reason to keep old data
        log.warning("search index for %s not built (the console will build it): %s", snapshot.name, error)
        return []
    return [target]


def _mart_tables(con: Any) -> list[str]:
    # no bound parameters here: DuckDB's parameter binding imports pandas, seconds on a cold start
    rows = con.execute(
        f"select table_name from information_schema.tables where table_schema = {_literal(MARTS_SCHEMA)} "
        "and table_catalog = current_database() order by table_name"
    ).fetchall()
    return [row[0] for row in rows]


def _copy_marts(
    con: Any, target: Path, tables: list[str], run_id: str, published_at: str, reference_at: str | None
) -> None:
    """Copy the marts into a new file attached to the (read-only) warehouse connection."""
    target.unlink(missing_ok=True)
    con.execute(f"attach '{_sql_path(target)}' as c360_snapshot (read_write)")
    try:
        con.execute(f"create schema c360_snapshot.{MARTS_SCHEMA}")
        for table in tables:
            name = _quote(table)
            con.execute(f"create table c360_snapshot.{MARTS_SCHEMA}.{name} as select * from {MARTS_SCHEMA}.{name}")
        con.execute("create schema c360_snapshot.meta")
        con.execute(
            f"create table c360_snapshot.meta.snapshot as select {_literal(run_id)} as run_id, "
            f"cast({_literal(published_at)} as timestamptz) as published_at, "
            f"cast({_literal(reference_at)} as timestamptz) as reference_at"
        )
    finally:
        con.execute("detach c360_snapshot")


def _snapshot_counts(path: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: _count(con, f"{MARTS_SCHEMA}.{_quote(table)}") for table in _mart_tables(con)}
    finally:
        con.close()


def _export_parquet(snapshot: Path, folder: Path, tables: list[str]) -> None:
    import duckdb

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        for table in tables:
            con.execute(
                f"copy {MARTS_SCHEMA}.{_quote(table)} to '{_sql_path(folder / (table + '.parquet'))}' "
                "(format parquet, compression zstd)"
            )
    finally:
        con.close()
    for file in folder.iterdir():
        _fsync(file)


def _run_facts(con: Any) -> dict[str, Any]:
    """Customers, records, merges and quarantine, for the run's final summary (None where unknown)."""
    facts: dict[str, Any] = {}

    def scalar(sql: str) -> Any:
        try:
            row = con.execute(sql).fetchone()
        except Exception:  # noqa: BLE001 - a missing table only means the figure is unknown
            return None
        return row[0] if row else None

    facts["customers"] = scalar(f"select count(*) from {MARTS_SCHEMA}.dim_customer")
    facts["source_records"] = scalar(f"select count(*) from {MARTS_SCHEMA}.customer_identity_map")
    facts["multi_record_customers"] = scalar(
        f"select count(*) from (select customer_id from {MARTS_SCHEMA}.customer_identity_map "
        "group by customer_id having count(*) > 1)"
    )
    distinct_customers = scalar(f"select count(distinct customer_id) from {MARTS_SCHEMA}.customer_identity_map")
    if facts["source_records"] is not None and distinct_customers is not None:
        facts["records_merged"] = facts["source_records"] - distinct_customers
    reference = scalar("select cast(reference_at as varchar) from staging.int_reference_time")
    facts["reference_at"] = reference
    quarantine_tables = con.execute(
        "select table_name from information_schema.columns where table_schema = 'quarantine' "
        "and column_name = '_c360_released_at' and table_catalog = current_database()"
    ).fetchall()
    facts["quarantined_rows"] = sum(
        scalar(f"select count(*) from quarantine.{_quote(name)} where _c360_released_at is null") or 0
        for (name,) in quarantine_tables
    )
    return facts


def _prune(config: Config, keep: int) -> list[str]:
    """Delete all but the `keep` newest snapshots (never the current one) with their manifests and Parquet."""
    current = current_snapshot(config)
    pruned = []
    for path in _published_snapshots(config)[keep:]:
        if current is not None and path == current:
            continue
        run_id = _run_id_of(path)
        for file in [path, path.with_suffix(".json"), *path.parent.glob(f"{path.name}.*")]:  # with sidecars
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
        shutil.rmtree(parquet_root(config) / run_id, ignore_errors=True)
        pruned.append(run_id)
    return pruned


def _published_snapshots(config: Config) -> list[Path]:
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


def _remove_leftovers(config: Config) -> None:
    """Temporary files of publishes that died half-way (we hold the lock: nobody else is writing them)."""
    for folder in (snapshots_dir(config), parquet_root(config), published_dir(config)):
        for leftover in folder.glob(".*.tmp-*"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _discard(paths: list[Path]) -> None:
    for path in reversed(paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError, PermissionError):
                path.unlink()


@contextlib.contextmanager
def _publish_lock(config: Config) -> Iterator[None]:
    """One publisher at a time (readers never lock)."""
    lock_file = published_dir(config) / ".publish.lock"
    with open(lock_file, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: single publisher assumed
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- small file-system helpers -------------------------------------------------------------------------------


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def _atomic_symlink(link: Path, target: str) -> None:
    temporary = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        os.symlink(target, temporary)
        os.replace(temporary, link)
    except OSError as error:  # e.g. no symlinks on this file system: CURRENT / LATEST still point the way
        temporary.unlink(missing_ok=True)
        log.warning("could not link %s -> %s: %s", link, target, error)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _count(con: Any, relation: str) -> int:
    return int(con.execute(f"select count(*) from {relation}").fetchone()[0])


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _run_id_of(path: Path) -> str:
    return path.stem.removeprefix(SNAPSHOT_PREFIX)


# -- dbt docs ------------------------------------------------------------------------------------------------


def generate_docs(config: Config) -> Path:
    """`dbt docs generate` (plus a self-contained static page) into `<data_dir>/reports/dbt_docs/`."""
    from customer360 import transform

    transform.run_dbt(config, ["docs", "generate", "--static"])
    target = Path(transform.dbt_environment(config)["DBT_TARGET_PATH"])
    folder = docs_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "static_index.html", "manifest.json", "catalog.json"):
        if (target / name).is_file():
            shutil.copy2(target / name, folder / name)
    return folder


# -- CLI: `c360 publish`, `c360 snapshots`, `c360 docs` (registered in customer360/cli.py) -------------------

cli = typer.Typer()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="configuration file [default: $C360_CONFIG or ./customer360.yml]",
        show_default=False,
    ),
]


def _config(path: Path | None) -> Config:
    try:
        return load_config(path or default_config_path())
    except ConfigError as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from None


@cli.command("publish")
def publish_command(
    run_id: Annotated[str | None, typer.Option(help="name of the snapshot [default: a new run id]")] = None,
    keep: Annotated[int, typer.Option(help="how many snapshots to keep")] = DEFAULT_KEEP,
    config: ConfigOption = None,
) -> None:
    """Publish the marts as they are now (e.g. after `c360 dbt -- build`) as the current snapshot."""
    from customer360.pipeline import new_run_id

    cfg = _config(config)
    report = publish(cfg, run_id or new_run_id(datetime.now(UTC)), keep=keep)
    typer.echo(report.render())


@cli.command("snapshots")
def snapshots_command(config: ConfigOption = None) -> None:
    """List the published snapshots (the current one is marked *) and where readers find them."""
    cfg = _config(config)
    snapshots = list_snapshots(cfg)
    if not snapshots:
        typer.echo(f"nothing published yet under {published_dir(cfg)}")
        return
    for info in snapshots:
        tables = info.manifest.get("tables", {})
        typer.echo(
            f"{'*' if info.is_current else ' '} {info.run_id}  {info.manifest.get('published_at', '?')}  "
            f"{len(tables)} marts, {sum(tables.values()):,} rows  {info.path}"
        )
    typer.echo(f"Parquet: {parquet_root(cfg) / 'latest'}")


@cli.command("docs")
def docs_command(config: ConfigOption = None) -> None:
    """Generate the dbt docs (lineage, models, columns, tests, exposures) and print where they are."""
    cfg = _config(config)
    folder = generate_docs(cfg)
    typer.echo(f"dbt docs: {folder / 'static_index.html'} (open in a browser; no server needed)")
    typer.echo(f"          or serve {folder} (e.g. `python -m http.server -d {folder}`) and open index.html")
