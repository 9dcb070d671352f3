"""Has anything changed since the last successful run? A run with nothing new stops after the quality gate.

Everything a build reads is fingerprinted, cheaply (load metadata, row counts, file contents — never a scan of
the data): the deliveries and their status, the raw tables' row counts, quarantine and its releases, decisions and
review answers, privacy requests, the project's files, the product's own code and dbt models, and the trained
model in use. When the fingerprint after the quality gate equals the one the last successful `c360 run` left at
its end (stage `inputs` in its meta.runs summary) and a snapshot is published, staging, resolution, the marts and publishing would only rebuild what is there:
they are skipped (docs/architecture.md). The marts' time windows end at the data's reference time, never at the
wall clock, so an unchanged input means an unchanged output.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from customer360.core import tombstones, warehouse
from customer360.core.config import Config
from customer360.core.decisions import decisions_path
from customer360.core.product import DBT_PROJECT_DIR
from customer360.serving.snapshots import current_snapshot

_PROJECT_SUFFIXES = {".py", ".sql", ".yml", ".yaml"}  # configuration, rules, suites, dbt: never data files
_PRODUCT_SUFFIXES = _PROJECT_SUFFIXES | {".csv"}  # the product's dbt seeds too


def _product_roots() -> list[Path]:
    """The product's packages (code, defaults, specs, suites) and its dbt project, wherever they are installed."""
    roots = [DBT_PROJECT_DIR]
    for package in ("customer360", "entity_resolution", "expectations"):
        found = importlib.util.find_spec(package)
        if found and found.submodule_search_locations:
            roots.extend(Path(location) for location in found.submodule_search_locations)
    return roots


@dataclass
class Inputs:
    """What a successful run leaves for the next one to compare with (stage `inputs`, the last of a run)."""

    fingerprint: str

    def summary(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint}


@dataclass
class ChangeReport:
    fingerprint: str
    previous_run: str | None  # the last successful run, when it left the inputs exactly as they are now
    full: bool = False  # `c360 run --full`: never skipped

    @property
    def nothing_new(self) -> bool:
        return self.previous_run is not None and not self.full

    def summary(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "nothing_new": self.nothing_new, "same_as": self.previous_run}

    def render(self) -> str:
        if not self.nothing_new:
            return ""
        return (
            f"nothing new since run {self.previous_run}: staging, resolution, marts and publishing skipped"
            " (`c360 run --full` rebuilds anyway)"
        )


def record_inputs(config: Config) -> Inputs:
    """The fingerprint of everything a build reads, as the run leaves it (after what staging held back and the
    model it trained, after retention)."""
    with warehouse.session(config, read_only=True) as con:
        return Inputs(_fingerprint(con, config))


def detect_changes(config: Config, full: bool = False) -> ChangeReport:
    """Compare the inputs now with what the last successful `c360 run` left."""
    with warehouse.session(config, read_only=True) as con:
        fingerprint = _fingerprint(con, config)
        row = con.execute(
            f"""
            select run_id, summary ->> '$.inputs.fingerprint' from {warehouse.META}.runs
            where command = 'run' and status = 'succeeded' order by started_at desc limit 1
            """
        ).fetchone()
    same = row is not None and row[1] == fingerprint and current_snapshot(config) is not None
    return ChangeReport(fingerprint, row[0] if same and row else None, full)


def _fingerprint(con: duckdb.DuckDBPyConnection, config: Config) -> str:
    parts: dict[str, Any] = {
        # a failed read is recorded for the audit trail but loaded nothing: no stage has work from it
        "batches": con.execute(
            f"""select count(*), md5(string_agg(batch_id || status || coalesce(cast(validated_at as varchar), ''),
                ',' order by batch_id)) from {warehouse.META}.batches where status <> 'failed'"""
        ).fetchone(),
        "raw": {},
        "quarantine": {},
        "state": _state(config),
        **code_digests(config),
        "models": sorted(
            (str(path.relative_to(config.resolve_path(config.resolution.model_dir))), path.read_text())
            for path in config.resolve_path(config.resolution.model_dir).rglob("current")
        ),
    }
    for schema, table in con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema like 'raw\\_%' escape '\\'"
        " or table_schema = ? order by 1, 2",
        [warehouse.QUARANTINE],
    ).fetchall():
        relation = f"{schema}.{warehouse.quote_identifier(table)}"
        if schema == warehouse.QUARANTINE:
            parts["quarantine"][table] = con.execute(
                f"select count(*), count(_c360_released_at), cast(max(_c360_quarantined_at) as varchar),"
                f" cast(max(_c360_released_at) as varchar) from {relation}"
            ).fetchone()
        else:
            parts["raw"][f"{schema}.{table}"] = con.execute(f"select count(*) from {relation}").fetchone()
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def code_digests(config: Config) -> dict[str, str]:
    """Digests of the project's files and of the product's code and dbt project (the marts' basis uses them too)."""
    return {
        "project": _files_digest([config.root], _PROJECT_SUFFIXES, exclude=config.data_path),
        "product": _files_digest(_product_roots(), _PRODUCT_SUFFIXES),
    }


def _state(config: Config) -> dict[str, Any]:
    """Decisions, review answers and withdrawals (their ids only grow; a deletion changes the count), privacy
    requests."""
    state: dict[str, Any] = {
        "requests": [(r.request_id, r.kind, r.purpose) for r in tombstones.requests_in_force(config.state_dir)]
    }
    path = decisions_path(config.state_dir)
    if path.exists():
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for table, key in (
                ("decisions", "decision_id"),
                ("review_answers", "answer_id"),
                ("withdrawals", "withdrawal_id"),
            ):
                state[table] = con.execute(f"select count(*), max({key}) from {table}").fetchone()
        except sqlite3.OperationalError:  # an empty store without its tables yet
            pass
        finally:
            con.close()
    return state


def _files_digest(roots: list[Path], suffixes: set[str], exclude: Path | None = None) -> str:
    """Names and contents of the files with these suffixes, never entering hidden folders or `exclude` (the
    project's data: silos, snapshots, the warehouse)."""
    digest = hashlib.sha256()
    excluded = exclude.resolve() if exclude is not None else None
    for root in roots:
        for folder, subfolders, files in os.walk(root):
            here = Path(folder)
            subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and (here / d).resolve() != excluded)
            for name in sorted(files):
                if Path(name).suffix in suffixes and not name.startswith("."):
                    digest.update(str((here / name).relative_to(root)).encode())
                    digest.update((here / name).read_bytes())
    return digest.hexdigest()
