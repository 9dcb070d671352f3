"""Publish the marts as a read-only snapshot that readers (console, API, BI) open, never the warehouse itself.

After a successful marts build, every table of schema `marts` is copied into a new DuckDB file (or, when the
marts build only wrote some customers anew, the snapshot of the build before is copied as a file and those
customers' rows replaced in it: customer360/marts_scope.py), checked, with the console's search index and serving
store beside it, and only then made current by switching a pointer atomically. A reader therefore always opens a
complete snapshot; a run that fails (before or during publishing) leaves the last good one current.

The Parquet export for BI follows the switch (it is the slowest part, and the console and API do not read it), with
its own pointer: `parquet/latest` names the previous export until the new one is complete. The layout, and how
readers open it, is in customer360/serving/snapshots.py.
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
from typing import TYPE_CHECKING, Any

from customer360.core.config import Config
from customer360.core.errors import StageFailed
from customer360.serving.snapshots import (
    DEFAULT_KEEP,
    MARTS_SCHEMA,
    POINTER,
    STABLE_LINK,
    current_snapshot,
    latest_parquet_run_id,
    parquet_root,
    published_dir,
    published_snapshots,
    run_id_of,
    snapshot_path,
    snapshots_dir,
)

if TYPE_CHECKING:
    from customer360.core.marts_builds import MartsUpdate

log = logging.getLogger(__name__)

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class PublishError(StageFailed):
    """Publishing failed; the previously published snapshot is still current."""


class ParquetExportFailed(StageFailed):
    """The snapshot is published and current, but its Parquet export failed: `parquet/latest` still names the
    previous export."""


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
    visible_seconds: float = 0.0  # until CURRENT named the new snapshot (the Parquet export follows)
    # what the run produced, for the final summary of `c360 run`
    customers: int | None = None
    source_records: int | None = None
    multi_record_customers: int | None = None
    records_merged: int | None = None
    quarantined_rows: int | None = None
    # the search index and serving store: customers rewritten in a copy of the previous snapshot's; None: built in
    # full (first publish, --full, too much changed) or kept from an earlier attempt; -1: not built (the console
    # builds its own)
    index_changed_customers: int | None = None
    # the snapshot file this one was copied from with the changed customers' rows replaced (None: marts copied whole)
    updated_from: str | None = None

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
            "index_changed_customers": self.index_changed_customers,
            "updated_from": self.updated_from,
            "seconds": round(self.seconds, 3),
            "visible_seconds": round(self.visible_seconds, 3),
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


def docs_dir(config: Config) -> Path:
    return config.reports_dir / "dbt_docs"


# -- publishing ----------------------------------------------------------------------------------------------


def publish(config: Config, run_id: str, keep: int = DEFAULT_KEEP, full: bool = False) -> PublishReport:
    """Publish every table of schema `marts` as snapshot `customer360-<run_id>.duckdb` and make it current, then
    export it to Parquet. Idempotent per run id: a retry reuses what an earlier attempt of the same run completed.
    The search index and serving store beside it are the previous snapshot's with the changed customers
    rewritten, or built in full (`full`). Raises PublishError (the previous snapshot stays current) if anything
    fails before the switch, ParquetExportFailed (the new snapshot is current, the previous Parquet is latest)
    if the export fails."""
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
            report = _publish_locked(config, run_id, created, full)
        except PublishError:
            _discard(created)
            raise
        except Exception as error:  # noqa: BLE001 - any failure must leave the last good snapshot current
            _discard(created)
            raise PublishError(
                f"publishing run {run_id} failed, the previous snapshot stays current: {error}"
            ) from error
        report.visible_seconds = time.perf_counter() - started
        try:
            _publish_parquet(config, report)
        finally:  # a failed export leaves the snapshot published: the kept number holds all the same
            report.pruned = _prune(config, keep)
    report.seconds = time.perf_counter() - started
    log.info("published %s (%d marts)", report.snapshot, len(report.tables))
    return report


def _publish_locked(config: Config, run_id: str, created: list[Path], full: bool) -> PublishReport:
    from customer360.core import marts_builds, warehouse

    final = snapshot_path(config, run_id)
    parquet_final = parquet_root(config) / run_id
    published_at = datetime.now(UTC).isoformat(timespec="microseconds")
    suffix = f".tmp-{os.getpid()}"

    previous = None if full else current_snapshot(config)
    with warehouse.session(config, read_only=True) as con:
        tables = _mart_tables(con)
        if not tables:
            raise PublishError(f"schema {MARTS_SCHEMA} has no tables: build the marts first (`c360 run`)")
        expected = {table: _count(con, f"{MARTS_SCHEMA}.{_quote(table)}") for table in tables}
        facts = _run_facts(con)
        reused = final.is_file()
        update = None
        if not reused:
            temporary = final.with_name(f".{final.name}{suffix}")
            created.append(temporary)
            update = marts_builds.update_of(con, previous) if previous != final else None
            if update is not None and previous is not None:
                _update_snapshot(con, previous, temporary, tables, update)
            else:
                _copy_marts(con, temporary, tables)
            _write_snapshot_meta(con, temporary, run_id, published_at, facts.get("reference_at"))
    if reused:  # complete by construction (renamed into place only after its check); published files never change
        log.info("snapshot %s was published before (retry of run %s): keeping it", final.name, run_id)
        counts = _snapshot_counts(final)
    else:
        counts = _snapshot_counts(temporary)
        if counts != expected:
            raise PublishError(f"snapshot does not match the marts it was copied from: {counts} != {expected}")

    if not reused:
        _fsync(temporary)
        os.replace(temporary, final)
        created.append(final)
        os.chmod(final, 0o444)
    _fsync_dir(final.parent)
    sidecars, index_changed = _build_sidecars(final, previous if previous != final else None)
    created.extend(sidecars)

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
    # a convenience that follows CURRENT (a failure here is logged, the snapshot is published)
    try:
        _atomic_symlink(published_dir(config) / STABLE_LINK, f"snapshots/{final.name}")
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
        index_changed_customers=index_changed,
        updated_from=previous.name if update is not None and previous is not None else None,
    )


def _publish_parquet(config: Config, report: PublishReport) -> None:
    """Export the snapshot just made current to Parquet beside the earlier exports, then point `parquet/latest` at
    it. A retry of the same run id exports what a failed attempt did not."""
    folder = report.parquet_dir
    if not folder.is_dir():
        temporary = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        try:
            _export_parquet(report.snapshot, temporary, list(report.tables))
            os.replace(temporary, folder)
            _fsync_dir(folder.parent)
        except Exception as error:  # noqa: BLE001 - whatever failed, say what is current and how to finish
            _discard([temporary])
            raise ParquetExportFailed(
                f"snapshot {report.snapshot.name} is published and current, but its Parquet export failed: {error}."
                " parquet/latest still names the previous export; `c360 publish` publishes the marts again with"
                " their export, and so does the next run"
            ) from error
    try:
        _atomic_symlink(parquet_root(config) / "latest", folder.name)
        _atomic_write(parquet_root(config) / "LATEST", folder.name + "\n")
    except OSError as error:
        log.warning("Parquet %s is exported, but parquet/latest could not be switched: %s", folder, error)


def _build_sidecars(snapshot: Path, previous: Path | None = None) -> tuple[list[Path], int | None]:
    """Files readers want beside a new snapshot before it becomes current: today the console's search index and
    serving store, so the snapshot is searchable the moment it is published. From the previous snapshot's index,
    only the customers that changed are rewritten (in a copy). Best effort: else the console builds its own."""
    from customer360.serving.search_index import build_search_index, sidecar_path

    target = sidecar_path(snapshot)
    if target.is_file():
        return [], None
    try:
        stats = build_search_index(snapshot, target, schema=MARTS_SCHEMA, previous=previous)
    except Exception as error:  # noqa: BLE001 - an index is a convenience, never a reason to keep old data
        log.warning("search index for %s not built (the console will build it): %s", snapshot.name, error)
        return [], -1
    return [target], stats.changed


def _mart_tables(con: Any) -> list[str]:
    # no bound parameters here: DuckDB's parameter binding imports pandas, seconds on a cold start
    rows = con.execute(
        f"select table_name from information_schema.tables where table_schema = {_literal(MARTS_SCHEMA)} "
        "and table_catalog = current_database() order by table_name"
    ).fetchall()
    return [row[0] for row in rows]


def _copy_marts(con: Any, target: Path, tables: list[str]) -> None:
    """Copy the marts into a new file attached to the (read-only) warehouse connection."""
    target.unlink(missing_ok=True)
    with _attached(con, target, "c360_snapshot"):
        con.execute(f"create schema c360_snapshot.{MARTS_SCHEMA}")
        for table in tables:
            name = _quote(table)
            con.execute(f"create table c360_snapshot.{MARTS_SCHEMA}.{name} as select * from {MARTS_SCHEMA}.{name}")


def _update_snapshot(con: Any, previous: Path, target: Path, tables: list[str], update: MartsUpdate) -> None:
    """Copy-on-write: the previous snapshot's file, with the changed customers' rows of the marts built per customer
    replaced and every other mart copied whole; a mart whose columns changed is copied whole too."""
    target.unlink(missing_ok=True)
    shutil.copyfile(previous, target)
    os.chmod(target, 0o644)
    with _attached(con, target, "c360_snapshot"):
        held = {
            table: _columns(con, "c360_snapshot", table)
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where database_name = 'c360_snapshot'"
                f" and schema_name = {_literal(MARTS_SCHEMA)}"
            ).fetchall()
        }
        changed = f"select customer_id from {update.changes}"
        rewritten = []
        for table in tables:
            name = f"{MARTS_SCHEMA}.{_quote(table)}"
            if table in update.tables and held.get(table) == _columns(con, None, table):
                con.execute(f"delete from c360_snapshot.{name} where customer_id in ({changed})")
                con.execute(f"insert into c360_snapshot.{name} select * from {name} where customer_id in ({changed})")
                rewritten.append(table)
            else:
                con.execute(f"create or replace table c360_snapshot.{name} as select * from {name}")
        for table in held.keys() - set(tables):
            con.execute(f"drop table c360_snapshot.{MARTS_SCHEMA}.{_quote(table)}")
        # what differs from the previous snapshot, so that its search index is updated without comparing the two
        con.execute("create schema if not exists c360_snapshot.meta")
        con.execute(f"create or replace table c360_snapshot.meta.updated_customers as {changed}")
        con.execute(
            f"create or replace table c360_snapshot.meta.updated_from as select {_literal(previous.name)} as snapshot,"
            f" {_literal(json.dumps(rewritten))} as tables_by_customer"
        )


def _write_snapshot_meta(con: Any, target: Path, run_id: str, published_at: str, reference_at: str | None) -> None:
    """meta.snapshot: which run published it, when, the data's reference time and the marts build it holds."""
    from customer360.core import marts_builds

    build = marts_builds.last_build(con)
    with _attached(con, target, "c360_snapshot"):
        con.execute("create schema if not exists c360_snapshot.meta")
        con.execute(
            f"create or replace table c360_snapshot.meta.snapshot as select {_literal(run_id)} as run_id, "
            f"cast({_literal(published_at)} as timestamptz) as published_at, "
            f"cast({_literal(reference_at)} as timestamptz) as reference_at, "
            f"cast({_literal(build)} as varchar) as marts_build"
        )


@contextlib.contextmanager
def _attached(con: Any, path: Path, alias: str, read_only: bool = False) -> Iterator[None]:
    con.execute(f"attach '{_sql_path(path)}' as {alias} ({'read_only' if read_only else 'read_write'})")
    try:
        yield
    finally:
        con.execute(f"detach {alias}")


def _columns(con: Any, database: str | None, table: str) -> list[tuple[str, str]]:
    """(name, type) of a mart's columns in an attached database (None: the warehouse)."""
    where = f"database_name = {_literal(database)}" if database else "database_name = current_database()"
    return con.execute(
        f"select column_name, data_type from duckdb_columns() where {where}"
        f" and schema_name = {_literal(MARTS_SCHEMA)} and table_name = {_literal(table)} order by column_index"
    ).fetchall()


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
        restricted = _restricted_customers(con)
        for table in tables:
            columns = {row[0] for row in con.execute(f"describe {MARTS_SCHEMA}.{_quote(table)}").fetchall()}
            keep = (
                f" where customer_id is null or customer_id not in ({restricted})" if "customer_id" in columns else ""
            )
            con.execute(
                f"copy (select * from {MARTS_SCHEMA}.{_quote(table)}{keep})"
                f" to '{_sql_path(folder / (table + '.parquet'))}' (format parquet, compression zstd)"
            )
    finally:
        con.close()
    for file in folder.iterdir():
        _fsync(file)


def _restricted_customers(con: Any) -> str:
    """A query for the customers whose processing is restricted (Art. 18): they stay in the snapshot the console
    serves, but no export carries them (docs/privacy.md)."""
    flagged = con.execute(
        f"select count(*) from information_schema.columns where table_schema = {_literal(MARTS_SCHEMA)}"
        " and table_name = 'dim_customer' and column_name = 'is_processing_restricted'"
    ).fetchall()[0][0]
    if not flagged:
        return "select null where false"
    return f"select customer_id from {MARTS_SCHEMA}.dim_customer where is_processing_restricted"


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
    return _delete_snapshots(config, published_snapshots(config)[keep:])


def prune_published_before(config: Config, cutoff: datetime) -> list[str]:
    """Retention (docs/privacy.md#retention): delete the snapshots published before `cutoff`, never the current
    one, with their manifests, sidecars and Parquet. Returns their run ids."""

    def published_at(path: Path) -> datetime | None:
        try:
            stamp = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["published_at"]
            return datetime.fromisoformat(stamp)
        except (OSError, ValueError, KeyError):
            return None  # unknown age: kept

    with _publish_lock(config):
        old = [path for path in published_snapshots(config) if (at := published_at(path)) and at < cutoff]
        return _delete_snapshots(config, old)


def _delete_snapshots(config: Config, paths: list[Path]) -> list[str]:
    """Never the current snapshot, nor the one whose export `parquet/latest` names (after failed exports, BI reads it)."""
    current = current_snapshot(config)
    exported = latest_parquet_run_id(config)
    deleted = []
    for path in paths:
        run_id = run_id_of(path)
        if (current is not None and path == current) or run_id == exported:
            continue
        for file in [path, path.with_suffix(".json"), *path.parent.glob(f"{path.name}.*")]:  # with sidecars
            with contextlib.suppress(FileNotFoundError):
                file.unlink()
        shutil.rmtree(parquet_root(config) / run_id, ignore_errors=True)
        deleted.append(run_id)
    return deleted


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


def scrub_snapshots(config: Config, record_keys: list[str], customer_ids: list[str]) -> dict[str, int]:
    """An erasure (docs/privacy.md) is the one reason a published snapshot changes: every kept snapshot that still
    holds one of the records or customers is rewritten into a new file without the customers (theirs, and those
    that held the records: their rows in every table with a customer_id) and the records (their rows in tables
    keyed by record), with its Parquet export,
    search index and serving store rebuilt from it, then moved into place; a reader that has the old file open
    keeps reading it until it reopens. Returns rows removed per snapshot file."""
    removed: dict[str, int] = {}
    with _publish_lock(config):
        for snapshot in published_snapshots(config):
            rows = _scrub(snapshot, record_keys, customer_ids, parquet_root(config) / run_id_of(snapshot))
            if rows:
                removed[snapshot.name] = rows
    return removed


def _scrub(snapshot: Path, record_keys: list[str], customer_ids: list[str], parquet: Path) -> int:
    import duckdb

    temporary = snapshot.with_name(f".{snapshot.name}.scrub-{os.getpid()}")
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        customers = sorted({*customer_ids, *_customers_holding(con, record_keys)})
        tables = _mart_tables(con)
        kept, dropped = {}, 0
        for table in tables:
            columns = {row[0] for row in con.execute(f"describe {MARTS_SCHEMA}.{_quote(table)}").fetchall()}
            kept[table] = _keep_condition(columns, customers, record_keys)
            keep, parameters = kept[table]
            relation = f"{MARTS_SCHEMA}.{_quote(table)}"
            dropped += con.execute(
                f"select count(*) filter (where not ({keep})) from {relation}", parameters
            ).fetchall()[0][0]
        if not dropped:
            return 0
        temporary.unlink(missing_ok=True)
        con.execute(f"attach '{_sql_path(temporary)}' as c360_scrubbed (read_write)")
        try:
            con.execute(f"create schema c360_scrubbed.{MARTS_SCHEMA}")
            for table in tables:
                keep, parameters = kept[table]
                con.execute(
                    f"create table c360_scrubbed.{MARTS_SCHEMA}.{_quote(table)} as"
                    f" select * from {MARTS_SCHEMA}.{_quote(table)} where {keep}",
                    parameters,
                )
            con.execute("create schema c360_scrubbed.meta")
            con.execute("create table c360_scrubbed.meta.snapshot as select * from meta.snapshot")
        finally:
            con.execute("detach c360_scrubbed")
    finally:
        con.close()
    if parquet.is_dir():
        fresh = parquet.with_name(f".{parquet.name}.scrub-{os.getpid()}")
        _export_parquet(temporary, fresh, tables)
        shutil.rmtree(parquet)
        os.replace(fresh, parquet)
    counts = _snapshot_counts(temporary)
    _fsync(temporary)
    os.chmod(temporary, 0o444)
    os.replace(temporary, snapshot)
    from customer360.serving.search_index import sidecar_path

    sidecar_path(snapshot).unlink(missing_ok=True)
    _build_sidecars(snapshot)
    manifest = snapshot.with_suffix(".json")
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        data["tables"] = counts
        _atomic_write(manifest, json.dumps(data, indent=2) + "\n")
    return dropped


def _customers_holding(con: Any, record_keys: list[str]) -> list[str]:
    """The customers of a snapshot holding one of the records, with every ID merged into them."""
    if not record_keys or "customer_identity_map" not in _mart_tables(con):
        return []
    found = {
        row[0]
        for row in con.execute(
            f"select distinct customer_id from {MARTS_SCHEMA}.customer_identity_map"
            " where record_key in (select unnest($records::varchar[]))",
            {"records": record_keys},
        ).fetchall()
    }
    if found and "customer_ids" in _mart_tables(con):
        while True:
            merged = {
                row[0]
                for row in con.execute(
                    f"select customer_id from {MARTS_SCHEMA}.customer_ids"
                    " where merged_into in (select unnest($found::varchar[]))",
                    {"found": sorted(found)},
                ).fetchall()
            }
            if merged <= found:
                break
            found |= merged
    return sorted(found)


def _keep_condition(columns: set[str], customers: list[str], records: list[str]) -> tuple[str, dict[str, Any]]:
    """The rows a scrubbed snapshot keeps: not of the erased customers, not about the erased records."""
    conditions, parameters = ["true"], {}
    if "customer_id" in columns:
        conditions.append("customer_id is null or customer_id not in (select unnest($customers::varchar[]))")
        parameters["customers"] = customers
    for column in ("record_key", "record_key_l", "record_key_r"):
        if column in columns:
            conditions.append(f"{column} is null or {column} not in (select unnest($records::varchar[]))")
            parameters["records"] = records
    return " and ".join(f"({condition})" for condition in conditions), parameters
