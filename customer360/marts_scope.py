"""Which customers a marts build has to write anew: all of them, or only those whose inputs changed.

The marts keyed by customer are dbt `incremental` models (dbt_project/macros/marts_scope.sql). A build is
incremental when it stands on the same basis as the last successful one — the same dbt vars, the same product and
project code, the same `C360_AS_OF`, no dbt run by hand since (that forgets the basis) — and when what those models
read from outside the marts stage changed only for some customers. The customers in scope are every customer, under
its old ID and its new one, whose records, evidence, status or privacy requests changed in the resolution's outputs,
and, after rows were loaded or staging was built, whose rows changed in the staging tables and views the models read
(`INPUTS`: a digest per source record, taken by each build; a table with no record key — the reference time, the
rules, a project's view of raw rows — is digested whole, and a change there concerns every customer). Everything
else (a changed rule or reference time, `--full`, a first build, more than MAX_SHARE of the customers changed) is a
full build with `--full-refresh`.

What an incremental build changed stays in meta.marts_changes until the next build, so that publishing can update
a copy of the snapshot of the build before instead of copying every mart (`last_update`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from customer360.core import marts_builds, warehouse
from customer360.core.config import Config
from customer360.core.marts_builds import BASIS, CHANGES, INPUTS, INPUTS_STALE, SCOPE, present, scalar

if TYPE_CHECKING:
    import duckdb

MAX_SHARE = 0.2  # above this share of changed customers, rebuilding every row is cheaper than deleting them
PRIVACY_BEFORE = "privacy_requests_before"  # temp table: the requests the marts were last built with
INPUTS_NEXT = f"{warehouse.META}.marts_inputs_next"  # the digests a plan takes; INPUTS once the build succeeds
INPUT_CUSTOMERS = "marts_input_customers"  # temp table: customers whose inputs changed
# a model's meta: the only columns of it that the marts read (the reference time: not where it came from)
READ_COLUMNS = "c360_marts_read_columns"
# columns that name whose a row is, most specific first: the resolution maps them to customers
RECORD_KEYS = (("source_system", "source_record_id"), ("record_key",), ("customer_id",))


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
    compared = bool(present(con, INPUTS_STALE)) or not present(con, INPUTS)  # else the inputs stand as they were
    untaken = _take_inputs(con, config) if compared else ""  # why the inputs could not be digested, if so
    if full:
        return MartsScope(True, "full build requested", basis=now)
    if recorded is None:
        return MartsScope(
            True, "no previous marts build to update (or a failed build, or dbt by hand, since)", basis=now
        )
    if recorded[0] != now:
        return MartsScope(True, "the configuration or the product's or project's code changed", basis=now)
    every_customer = untaken or (_compare_inputs(con) if compared else "")  # why every customer's changed, if so
    if every_customer:
        return MartsScope(True, every_customer, basis=now)
    customers = _customers_of_marts(con)
    if not customers:
        return MartsScope(True, "no previous marts build to update", basis=now)
    inputs = f"union select customer_id from {INPUT_CUSTOMERS}" if compared else ""
    con.execute(f"create table {SCOPE} as {_changed_customers_sql()} {inputs}")
    changed = scalar(con, f"select count(*) from {SCOPE}")
    if changed > MAX_SHARE * customers:
        con.execute(f"drop table {SCOPE}")
        return MartsScope(True, f"{changed:,} of {customers:,} customers changed", basis=now)
    return MartsScope(False, f"{changed:,} of {customers:,} customers changed", changed, recorded[1], now)


def settle(con: duckdb.DuckDBPyConnection, config: Config, run_id: str, scope: MartsScope) -> None:
    """After a successful build: the basis and the inputs the next build compares with, and what this one changed."""
    if scope.full:
        con.execute(f"drop table if exists {SCOPE}")
    else:
        con.execute(f"alter table {SCOPE} rename to {CHANGES.split('.')[1]}")
    if present(con, INPUTS_NEXT):
        con.execute(f"drop table if exists {INPUTS}; alter table {INPUTS_NEXT} rename to {INPUTS.split('.')[1]}")
        con.execute(f"drop table if exists {INPUTS_STALE}")
    con.execute(f"delete from {BASIS}")
    con.execute(
        f"insert into {BASIS} values (?, ?, now(), ?, ?)",
        [scope.basis, run_id, None if scope.full else scope.updates, json.dumps(incremental_tables(config))],
    )


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """A dbt run by hand or a failed build (anything every mart row may depend on): the next marts build is full,
    and compares its inputs anew."""
    if present(con, BASIS):
        con.execute(f"delete from {BASIS}")
    con.execute(f"drop table if exists {SCOPE}; drop table if exists {CHANGES}")
    marts_builds.mark_inputs_stale(con)


def _take_inputs(con: duckdb.DuckDBPyConnection, config: Config) -> str:
    """Digest what the models built per customer read from outside the marts stage into INPUTS_NEXT (the next
    build compares with it). Returns "", or why nothing could be digested."""
    con.execute(f"drop table if exists {INPUTS_NEXT}; drop table if exists {INPUT_CUSTOMERS}")
    relations = _boundary_inputs(config)
    if relations is None:
        return "no dbt manifest says what the marts read"
    selects = []
    for relation, read in relations.items():
        schema, table = relation.split(".")
        columns = {
            row[0]
            for row in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ?", [schema, table]
            ).fetchall()
        }
        if not columns:  # not built (a stream whose silo never delivered): nothing read from it
            continue
        row = ", ".join(f'"{column}"' for column in read if column in columns) or "t"
        key = next((k for k in RECORD_KEYS if set(k) <= columns), None)
        if key is None:
            selects.append(
                f"select '{relation}' as input, null as kind, null as key_1, null as key_2,"
                f" sum(hash({row})::hugeint) as digest from {relation} as t"
            )
            continue
        key_1, key_2 = (f"cast({key[0]} as varchar)", f"cast({key[1]} as varchar)" if len(key) > 1 else "null")
        selects.append(
            f"select '{relation}' as input, '{'.'.join(key)}' as kind, {key_1} as key_1, {key_2} as key_2,"
            f" sum(hash({row})::hugeint) as digest from {relation} as t group by all"
        )
    con.execute(
        f"create table {INPUTS_NEXT} (input varchar, kind varchar, key_1 varchar, key_2 varchar, digest hugeint)"
    )
    if selects:
        con.execute(f"insert into {INPUTS_NEXT} {' union all '.join(selects)}")
    return ""


def _compare_inputs(con: duckdb.DuckDBPyConnection) -> str:
    """Compare INPUTS_NEXT with INPUTS: the customers whose rows changed go to the temp table INPUT_CUSTOMERS.
    Returns "" when only some customers' inputs changed, or why every customer's may have."""
    if not present(con, INPUTS):
        return "no record of what the last marts build read"
    con.execute(
        f"""
        create or replace temp table marts_inputs_changed as
        (select * from {INPUTS_NEXT} except select * from {INPUTS})
        union all
        (select * from {INPUTS} except select * from {INPUTS_NEXT})
        """
    )
    whole = [
        row[0]
        for row in con.execute(
            "select distinct input from marts_inputs_changed where kind is null order by 1"
        ).fetchall()
    ]
    if whole:
        return f"{', '.join(whole)} changed (read whole: {_whole_reason(whole)})"
    er, marts = warehouse.ENTITY_RESOLUTION, warehouse.MARTS
    owners = []
    for kind, match in (
        ("source_system.source_record_id", "m.source_system = c.key_1 and m.source_record_id = c.key_2"),
        ("record_key", "m.record_key = c.key_1"),
    ):
        for identity_map in (f"{er}.identity_map", f"{marts}.customer_identity_map"):
            owners.append(
                f"select c.input, c.key_1, c.key_2, m.customer_id from marts_inputs_changed as c"
                f" join {identity_map} as m on {match} where c.kind = '{kind}'"
            )
    owners.append(
        "select input, key_1, key_2, key_1 as customer_id from marts_inputs_changed where kind = 'customer_id'"
    )
    con.execute(f"create or replace temp table marts_input_owners as {' union all '.join(owners)}")
    orphans = con.execute(
        """
        select distinct c.input from marts_inputs_changed as c
        anti join marts_input_owners as o on o.input = c.input and o.key_1 = c.key_1
            and o.key_2 is not distinct from c.key_2
        order by 1
        """
    ).fetchall()
    if orphans:
        return f"rows of no customer changed in {', '.join(row[0] for row in orphans)}"
    con.execute(
        f"create or replace temp table {INPUT_CUSTOMERS} as"
        " select distinct customer_id from marts_input_owners where customer_id is not null"
    )
    return ""


def _whole_reason(relations: list[str]) -> str:
    if any(relation.endswith(".int_reference_time") for relation in relations):
        return "the reference time moved, and with it every customer's time windows"
    return "no record key says whose rows changed"


def _boundary_inputs(config: Config) -> dict[str, list[str]] | None:
    """The relations (schema.table) outside the marts stage that the models built per customer read, directly or
    through other models of the marts stage, each with the columns the marts read of it where its model says so
    (`meta: {READ_COLUMNS: [...]}`; else every column counts). The resolution's outputs and the privacy requests
    are compared separately. None without a manifest (no dbt build yet)."""
    graph = _manifest(config)
    if graph is None:
        return None
    nodes = {**graph.get("nodes", {}), **graph.get("sources", {})}
    skipped = {warehouse.ENTITY_RESOLUTION, "privacy"}  # compared by _changed_customers_sql

    @functools.cache
    def in_marts_stage(unique_id: str) -> bool:  # `source:entity_resolution+ marts`, as the marts stage selects
        node = nodes[unique_id]
        if node.get("resource_type") != "model":
            return False
        parents = [parent for parent in node.get("depends_on", {}).get("nodes", []) if parent in nodes]
        return (node.get("fqn") or [None, None])[1] == "marts" or any(
            (nodes[parent].get("source_name") == warehouse.ENTITY_RESOLUTION) or in_marts_stage(parent)
            for parent in parents
        )

    def relation(node: dict[str, Any]) -> str:
        return f"{node['schema']}.{node.get('identifier') or node.get('alias') or node['name']}"

    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    todo = [unique_id for unique_id, node in nodes.items() if _built_per_customer(node)]
    while todo:
        unique_id = todo.pop()
        if unique_id in seen or unique_id not in nodes:
            continue
        seen.add(unique_id)
        node = nodes[unique_id]
        if node.get("resource_type") == "source":
            if node.get("source_name") not in skipped:
                found[relation(node)] = []
        elif in_marts_stage(unique_id):
            todo.extend(node.get("depends_on", {}).get("nodes", []))
        else:
            meta = node.get("config", {}).get("meta") or node.get("meta") or {}
            found[relation(node)] = list(meta.get(READ_COLUMNS) or [])
    return dict(sorted(found.items()))


def incremental_tables(config: Config) -> list[str]:
    """The marts that dbt builds per customer, from the manifest of the last build."""
    graph = _manifest(config) or {}
    return sorted(
        node["alias"]
        for node in graph.get("nodes", {}).values()
        if _built_per_customer(node) and node.get("schema") == warehouse.MARTS
    )


def _manifest(config: Config) -> dict[str, Any] | None:
    """dbt's manifest of the last build (None before the first)."""
    from customer360 import transform

    path = Path(transform.dbt_environment(config)["DBT_TARGET_PATH"]) / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _built_per_customer(node: dict[str, Any]) -> bool:
    """A model configured with c360_incremental_by_customer() (the same test as the macro c360_built_per_customer)."""
    config = node.get("config", {})
    return (
        node.get("resource_type") == "model"
        and config.get("materialized") == "incremental"
        and any("c360_delete_marts_scope" in hook.get("sql", "") for hook in config.get("pre-hook", []))
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
