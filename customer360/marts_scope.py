"""Which customers a marts build has to write anew: all of them, or only those a decision or a request touched.

The marts keyed by customer are dbt `incremental` models (dbt_project/macros/marts_scope.sql). A build is
incremental when it stands on the same basis as the last successful one — nothing loaded, staging not rebuilt
and no dbt run by hand since (those forget the basis), the same dbt vars, the same product and project code, the
same `C360_AS_OF` —
so that only the resolution's outputs and the privacy requests can differ. The customers in scope are then found
by comparing those inputs with what the marts hold: every customer, under its old ID and its new one, whose
records, evidence, status or privacy requests changed. Everything else (a delivery, a changed rule, `--full`, a
first build, more than MAX_SHARE of the customers changed) is a full build with `--full-refresh`.

What an incremental build changed stays in meta.marts_changes until the next build, so that publishing can update
a copy of the snapshot of the build before instead of copying every mart (`last_update`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.core import warehouse
from customer360.core.config import Config
from customer360.core.marts_builds import BASIS, CHANGES, SCOPE, present, scalar

if TYPE_CHECKING:
    import duckdb

MAX_SHARE = 0.2  # above this share of changed customers, rebuilding every row is cheaper than deleting them
PRIVACY_BEFORE = "privacy_requests_before"  # temp table: the requests the marts were last built with


@dataclass
class MartsScope:
    full: bool
    reason: str  # why full, or what the incremental build covers
    customers: int | None = None  # customers in scope (incremental builds)
    updates: str | None = None  # incremental builds: the run id of the build they update
    basis: str = ""  # what the build stood on (`basis`), recorded by `settle`

    def summary(self) -> dict[str, Any]:
        return {"mode": "full" if self.full else "incremental", "reason": self.reason, "customers": self.customers}


def basis(config: Config) -> str:
    """What every customer's mart rows depend on besides the resolution and privacy requests."""
    from customer360 import transform
    from customer360.changes import code_digests

    parts = {
        "vars": transform.dbt_vars(config),
        **code_digests(config),
        "as_of": os.environ.get("C360_AS_OF", ""),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def remember_privacy_requests(con: duckdb.DuckDBPyConnection) -> None:
    """Before meta.privacy_requests is refreshed: keep what the last build read, to find the customers it changes."""
    con.execute(f"create or replace temp table {PRIVACY_BEFORE} as select * from {warehouse.META}.privacy_requests")


def plan(con: duckdb.DuckDBPyConnection, config: Config, full: bool = False) -> MartsScope:
    """Decide the build and, for an incremental one, write SCOPE. The basis is forgotten until the build succeeds
    (`settle`), so that a build that fails half-way is followed by a full one."""
    recorded = con.execute(f"select basis, run_id from {BASIS}").fetchone()
    con.execute(f"delete from {BASIS}; drop table if exists {SCOPE}; drop table if exists {CHANGES}")
    now = basis(config)
    if full:
        return MartsScope(True, "full build requested", basis=now)
    if recorded is None:
        return MartsScope(True, "no previous marts build to update (or staging, or a failed build, since)", basis=now)
    if recorded[0] != now:
        return MartsScope(True, "the configuration or the product's or project's code changed", basis=now)
    customers = _customers_of_marts(con)
    if not customers:
        return MartsScope(True, "no previous marts build to update", basis=now)
    con.execute(f"create table {SCOPE} as {_changed_customers_sql()}")
    changed = scalar(con, f"select count(*) from {SCOPE}")
    if changed > MAX_SHARE * customers:
        con.execute(f"drop table {SCOPE}")
        return MartsScope(True, f"{changed:,} of {customers:,} customers changed", basis=now)
    return MartsScope(False, f"{changed:,} of {customers:,} customers changed", changed, recorded[1], now)


def settle(con: duckdb.DuckDBPyConnection, config: Config, run_id: str, scope: MartsScope) -> None:
    """After a successful build: the basis the next build compares with, and what this one changed."""
    if scope.full:
        con.execute(f"drop table if exists {SCOPE}")
    else:
        con.execute(f"alter table {SCOPE} rename to {CHANGES.split('.')[1]}")
    con.execute(f"delete from {BASIS}")
    con.execute(
        f"insert into {BASIS} values (?, ?, now(), ?, ?)",
        [scope.basis, run_id, None if scope.full else scope.updates, json.dumps(incremental_tables(config))],
    )


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Staging rebuilt (or anything else every mart row may depend on): the next marts build is a full one."""
    if present(con, BASIS):
        con.execute(f"delete from {BASIS}")
    con.execute(f"drop table if exists {SCOPE}; drop table if exists {CHANGES}")


def incremental_tables(config: Config) -> list[str]:
    """The marts that dbt builds per customer (materialized `incremental`), from the manifest of the last build."""
    from customer360 import transform

    manifest = Path(transform.dbt_environment(config)["DBT_TARGET_PATH"]) / "manifest.json"
    if not manifest.is_file():
        return []
    nodes = json.loads(manifest.read_text(encoding="utf-8")).get("nodes", {}).values()
    return sorted(
        node["alias"]
        for node in nodes
        if node.get("resource_type") == "model"
        and node.get("schema") == warehouse.MARTS
        and node.get("config", {}).get("materialized") == "incremental"
    )


def _customers_of_marts(con: duckdb.DuckDBPyConnection) -> int:
    customer_ids = f"{warehouse.MARTS}.customer_ids"
    if not present(con, customer_ids):
        return 0
    return scalar(con, f"select count(*) from {customer_ids} where status = 'active'")


def _changed_customers_sql() -> str:
    """Every customer ID, old or new, whose identity map rows, customer row, match evidence or privacy requests
    differ between the resolution's outputs now and the marts built last."""
    er, marts, meta = warehouse.ENTITY_RESOLUTION, warehouse.MARTS, warehouse.META
    records = "record_key, customer_id, best_match_probability, cluster_size, assigned_run_id"
    customers = "customer_id, status, merged_into, record_count, created_run_id, changed_run_id"
    privacy = "request_id, kind, purpose, record_key, requested_at"
    evidence = (
        "customer_id, record_key_l, record_key_r, match_probability, pair_match_weight, comparison, level_label,"
        " is_agreement, match_weight"
    )
    return f"""
        with
        changed_records as (
            (select {records} from {er}.identity_map except select {records} from {marts}.customer_identity_map)
            union all
            (select {records} from {marts}.customer_identity_map except select {records} from {er}.identity_map)
        ),
        changed_customers as (
            (select {customers} from {er}.customers except select {customers} from {marts}.customer_ids)
            union all
            (select {customers} from {marts}.customer_ids except select {customers} from {er}.customers)
        ),
        changed_evidence as (
            (select {evidence} from {er}.match_evidence except select {evidence} from {marts}.customer_match_evidence)
            union all
            (select {evidence} from {marts}.customer_match_evidence except select {evidence} from {er}.match_evidence)
        ),
        changed_requests as (
            (select {privacy} from {meta}.privacy_requests except select {privacy} from {PRIVACY_BEFORE})
            union all
            (select {privacy} from {PRIVACY_BEFORE} except select {privacy} from {meta}.privacy_requests)
        )
        select customer_id from changed_records
        union select customer_id from changed_customers
        union select customer_id from changed_evidence
        union select customer_id from {er}.identity_map where record_key in (select record_key from changed_requests)
        union select customer_id from {marts}.customer_identity_map
            where record_key in (select record_key from changed_requests)
    """
