"""Which customers a marts build writes anew (customer360/marts_scope.py), on a hand-made warehouse and dbt graph:
the resolution's outputs against what the marts hold, and what the models built per customer read from staging
against what the last build read. That an incremental build then equals a full one is proven on the demo in
test_marts_publish.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from support.configs import make_config

from customer360 import marts_scope
from customer360.core import marts_builds, warehouse
from customer360.core.config import Config
from customer360.core.marts_builds import present

CUSTOMERS = 10  # C0 … C9, two records each


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, {})


@pytest.fixture
def con(config: Config) -> duckdb.DuckDBPyConnection:
    config.warehouse_path.parent.mkdir(parents=True)
    connection = duckdb.connect(str(config.warehouse_path))
    warehouse.ensure_schemas(connection, config)
    connection.execute(
        f"""
        create table entity_resolution.identity_map as
        select 'r' || range as record_key, 'crm' as source_system, 'r' || range as source_record_id,
               'C' || (range // 2) as customer_id, 0.99 as best_match_probability, 2 as cluster_size,
               'run-1' as assigned_run_id
        from range({2 * CUSTOMERS});
        create table entity_resolution.customers as
        select 'C' || range as customer_id, 'active' as status, null::varchar as merged_into, 2 as record_count,
               'run-1' as created_run_id, 'run-1' as changed_run_id
        from range({CUSTOMERS});
        create table entity_resolution.match_evidence as
        select customer_id, record_key as record_key_l, record_key || 'b' as record_key_r, 0.99 as match_probability,
               8.1 as pair_match_weight, 'email' as comparison, 'exact' as level_label, true as is_agreement,
               6.2 as match_weight
        from entity_resolution.identity_map;
        -- the marts as the last build left them
        create table marts.customer_identity_map as select * from entity_resolution.identity_map;
        create table marts.customer_ids as select * from entity_resolution.customers;
        create table marts.customer_match_evidence as select * from entity_resolution.match_evidence;
        -- what the marts read from staging: a row per source record, and the reference time
        create table staging.int_records as
        select 'crm' as source_system, record_key as source_record_id, 'value ' || record_key as value
        from entity_resolution.identity_map;
        create table staging.int_reference_time as
        select timestamptz '2026-11-30 18:00:00+00' as reference_at, now() as latest_loaded_at;
        """
    )
    write_graph(config)
    yield connection
    connection.close()


def write_graph(config: Config) -> None:
    """The manifest of a dbt project whose mart `fct` is built per customer from staging.int_records, the
    reference time and the identity map (the source the resolution's comparison covers)."""

    def model(name: str, schema: str, parents: list[str], per_customer: bool = False) -> dict:
        hooks = [{"sql": "{{ c360_delete_marts_scope() }}"}] if per_customer else []
        return {
            "resource_type": "model",
            "name": name,
            "alias": name,
            "schema": schema,
            "fqn": ["customer360", schema, name],
            "config": {"materialized": "incremental" if per_customer else "table", "pre-hook": hooks},
            "depends_on": {"nodes": parents},
        }

    identity_map = {"resource_type": "source", "source_name": "entity_resolution", "schema": "entity_resolution"}
    graph = {
        "nodes": {
            "model.customer360.fct": model(
                "fct",
                "marts",
                ["model.customer360.int_records", "model.customer360.signals", "source.customer360.er.identity_map"],
                per_customer=True,
            ),
            "model.customer360.signals": model("signals", "staging", ["model.customer360.int_reference_time"]),
            "model.customer360.int_records": model("int_records", "staging", []),
            "model.customer360.int_reference_time": model("int_reference_time", "staging", []),
        },
        "sources": {"source.customer360.er.identity_map": {**identity_map, "identifier": "identity_map"}},
    }
    graph["nodes"]["model.customer360.signals"]["depends_on"]["nodes"].append("source.customer360.er.identity_map")
    # as dbt_project/models/intermediate/touchpoints/_int_touchpoints__models.yml declares it
    graph["nodes"]["model.customer360.int_reference_time"]["config"]["meta"] = {
        marts_scope.READ_COLUMNS: ["reference_at"]
    }
    target = config.data_path / "dbt_target"
    target.mkdir(parents=True, exist_ok=True)
    (target / "manifest.json").write_text(json.dumps(graph), encoding="utf-8")


def plan(con: duckdb.DuckDBPyConnection, config: Config, full: bool = False) -> marts_scope.MartsScope:
    marts_scope.remember_privacy_requests(con)
    return marts_scope.plan(con, config, full=full)


def settle_full(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    marts_scope.settle(con, config, "run-1", plan(con, config, full=True))


def scope(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute(f"select customer_id from {marts_builds.SCOPE}").fetchall()}


def test_a_first_build_is_full_and_the_next_on_the_same_basis_is_incremental(con, config) -> None:  # noqa: ANN001
    first = plan(con, config)
    assert first.full and "no previous marts build" in first.reason
    settle_full(con, config)
    again = plan(con, config)
    assert (again.full, again.customers) == (False, 0)


def test_a_moved_record_puts_both_customers_in_scope(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    con.execute(
        "update entity_resolution.identity_map set customer_id = 'C1', cluster_size = 3 where record_key = 'r0'"
    )
    built = plan(con, config)
    assert not built.full and scope(con) == {"C0", "C1"} and built.updates == "run-1"
    assert marts_builds.last_update(con) is None  # until the build succeeds
    marts_scope.settle(con, config, "run-2", built)
    update = marts_builds.last_update(con)
    assert update is not None and (update.run_id, update.updates) == ("run-2", "run-1")
    assert {row[0] for row in con.execute(f"select customer_id from {update.changes}").fetchall()} == {"C0", "C1"}
    con.execute("create or replace table marts.customer_identity_map as from entity_resolution.identity_map")
    assert plan(con, config).customers == 0 and marts_builds.last_update(con) is None  # a new build: changes gone


def test_a_merged_customer_and_a_privacy_request_are_in_scope(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    con.execute("update entity_resolution.customers set status = 'merged', merged_into = 'C3' where customer_id = 'C2'")
    marts_scope.remember_privacy_requests(con)
    con.execute("insert into meta.privacy_requests values (1, 'restriction', null, 'r10', now())")  # C5's record
    built = marts_scope.plan(con, config)
    assert not built.full and scope(con) == {"C2", "C5"}


def test_changed_match_evidence_alone_puts_its_customer_in_scope(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    con.execute("update entity_resolution.match_evidence set level_label = 'fuzzy' where record_key_l = 'r7'")
    built = plan(con, config)
    assert not built.full and scope(con) == {"C3"}


def test_too_many_changed_customers_build_in_full(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    con.execute(
        "update entity_resolution.identity_map set best_match_probability = 0.5 where record_key in ('r0', 'r2', 'r4')"
    )
    built = plan(con, config)
    assert built.full and built.reason.startswith("3 of 10 customers changed")


def test_a_delivery_puts_the_customers_whose_staged_rows_changed_in_scope(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    assert not present(con, "meta.marts_inputs_next")  # nothing loaded since: the inputs are not digested again
    con.execute("update staging.int_records set value = 'moved' where source_record_id = 'r3'")  # C1's record
    con.execute("insert into staging.int_records values ('crm', 'r11', 'a second row')")  # C5's
    marts_builds.mark_inputs_stale(con)  # what ingest and staging do
    built = plan(con, config)
    assert not built.full and scope(con) == {"C1", "C5"}, built
    marts_scope.settle(con, config, "run-2", built)
    again = plan(con, config)  # the new digests stand: nothing changed since
    assert (again.full, again.customers) == (False, 0)


def test_a_moved_reference_time_or_a_row_of_nobody_make_the_build_full(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    con.execute("update staging.int_reference_time set latest_loaded_at = latest_loaded_at + interval 1 hour")
    marts_builds.mark_inputs_stale(con)
    loaded = plan(con, config)  # a later load within the day: the marts do not read where "now" came from
    assert (loaded.full, loaded.customers) == (False, 0), loaded
    settle_full(con, config)
    con.execute("update staging.int_reference_time set reference_at = reference_at + interval 1 day")
    marts_builds.mark_inputs_stale(con)
    moved = plan(con, config)
    assert moved.full and "the reference time moved" in moved.reason, moved
    settle_full(con, config)
    con.execute("insert into staging.int_records values ('crm', 'r99', 'nobody resolved this record')")
    marts_builds.mark_inputs_stale(con)
    orphan = plan(con, config)
    assert orphan.full and "rows of no customer changed in staging.int_records" in orphan.reason, orphan


def test_staging_a_new_rule_or_full_make_the_next_build_full(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    assert plan(con, config, full=True).full
    settle_full(con, config)
    marts_scope.forget(con)  # what a dbt build by hand does
    assert plan(con, config).full
    settle_full(con, config)
    (config.root / "rules").mkdir()
    (config.root / "rules" / "next_best_action.yml").write_text("rules: []\n", encoding="utf-8")
    changed = plan(con, config)
    assert changed.full and "code changed" in changed.reason


def test_a_plan_forgets_the_basis_until_the_build_succeeds(con, config) -> None:  # noqa: ANN001
    settle_full(con, config)
    assert not plan(con, config).full
    assert plan(con, config).full  # the build in between failed: it never settled


def test_a_warehouse_from_before_incremental_builds_gets_their_columns(tmp_path: Path) -> None:
    """meta.marts_basis first had three columns: a warehouse built then is brought up to date, not broken."""
    config = make_config(tmp_path, {})
    config.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(config.warehouse_path)) as old:
        old.execute("create schema meta")
        old.execute(
            "create table meta.marts_basis (basis varchar not null, run_id varchar not null, built_at timestamptz not null)"
        )
        old.execute("insert into meta.marts_basis values ('b', 'run-0', now())")
    with duckdb.connect(str(config.warehouse_path)) as con:
        warehouse.ensure_schemas(con, config)
        marts_scope.settle(con, config, "run-1", marts_scope.MartsScope(True, "a full build", basis="b"))
        assert con.execute("select run_id, updated_run_id, incremental_tables from meta.marts_basis").fetchall() == [
            ("run-1", None, "[]")
        ]
