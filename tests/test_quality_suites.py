"""Suites as built for a batch, without a warehouse: every table of the demo project gets a GX ExpectationSuite with
unique rule names and a SQL translation for every row-level rule; marts are found through the registry, and a
missing or broken mart stops publishing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import great_expectations as gx
import pytest
from support.configs import make_config
from support.quality import DEMO_PROJECT

from customer360.core.config import load_config
from expectations import kit, project, sql
from expectations.kit import Baseline, SuiteContext
from expectations.marts import MART_SUITES
from expectations.runner import validate_marts
from expectations.suites import mart_suite, table_suite

AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DEMO = load_config(DEMO_PROJECT / "customer360.yml")
DEMO_TABLES = [(source.name, table.name) for source in DEMO.sources for table in source.tables]


def context_for(source: str, table: str, config=None, **changes) -> SuiteContext:
    table_config = config.source(source).table(table) if config is not None else None
    values = {
        "rows": 1000,
        "baseline": Baseline(columns=("a", "b"), fill={"a": 1.0}, reference_rows=900, batches=3),
        "table_config": table_config,
        "config": config,
    }
    return SuiteContext(source=source, table=table, as_of=AS_OF, **{**values, **changes})


def assert_well_formed(suite: gx.ExpectationSuite) -> None:
    assert isinstance(suite, gx.ExpectationSuite) and suite.expectations
    rules = [kit.rule_of(e) for e in suite.expectations]
    assert None not in rules and len(rules) == len(set(rules)), rules
    for expectation in suite.expectations:
        assert kit.action_of(expectation) in ("quarantine", "block", "warn")
        if kit.action_of(expectation) == "quarantine":
            sql.predicate(expectation, 0)  # has a translation
            assert 0 <= expectation.mostly <= 1
    for name in kit.derived_columns(suite):
        assert "__" in name
    json.dumps(suite.to_json_dict())  # serialisable: it is stored with every validation result


@pytest.mark.parametrize(("source", "table"), DEMO_TABLES, ids=lambda x: x)
def test_every_demo_table_gets_a_well_formed_suite(source, table):
    ctx = context_for(source, table, DEMO)

    suite, made_of = table_suite(ctx, project.for_table(DEMO, ctx.table_config))

    assert_well_formed(suite)
    assert made_of.startswith("generic + config")
    assert kit.note_of(suite.expectations[0])  # every expectation carries its rule


def test_the_demo_project_brings_its_own_suite_modules_by_path():
    suites = {t.suite for s in DEMO.sources for t in s.tables if t.suite}
    assert "suites/tickets.py" in suites
    ctx = context_for("service", "tickets", DEMO)
    _, made_of = table_suite(ctx, project.for_table(DEMO, ctx.table_config))
    assert made_of == "generic + config + suites/tickets.py"


def test_the_generic_suite_follows_the_configured_primary_key():
    config = make_config(
        Path("/tmp"),
        {"x": {"connector": "files", "tables": {"t": {"path": "*.csv", "format": "csv", "primary_key": ["a", "b"]}}}},
    )
    suite, made_of = table_suite(context_for("x", "t", config))

    rules = {kit.rule_of(e) for e in suite.expectations}
    assert made_of == "generic"
    assert {
        "a_not_delivered",
        "b_not_delivered",
        "a_missing",
        "b_missing",
        "primary_key_duplicate",
        "schema_stable",
        "volume_collapse",
        "volume_jump",
    } == rules


def test_a_table_nobody_configured_gets_the_generic_checks():
    suite, made_of = table_suite(context_for("legacy", "t"))
    assert made_of == "generic"
    assert {kit.rule_of(e) for e in suite.expectations} == {"schema_stable", "volume_collapse", "volume_jump"}


def test_a_small_batch_tolerates_a_few_bad_rows_a_large_one_a_share():
    small = context_for("x", "t", rows=5)
    large = context_for("x", "t", rows=100_000)
    assert small.mostly == 0.0
    assert large.mostly == pytest.approx(0.9)


def test_freshness_is_judged_on_the_newest_batch_only():
    newest, _ = table_suite(context_for("marketing", "contacts", DEMO))
    older, _ = table_suite(context_for("marketing", "contacts", DEMO, latest=False))
    assert "freshness" in {kit.rule_of(e) for e in newest.expectations}
    assert "freshness" not in {kit.rule_of(e) for e in older.expectations}


# -- marts ---------------------------------------------------------------------------------------------------


def test_the_mart_suites_are_found_through_the_registry():
    assert set(MART_SUITES) == {"customer_identity_map", "dim_customer", "customer_360"}
    for table in MART_SUITES:
        suite = mart_suite(table, context_for("marts", table, columns=("customer_id", "email")))
        assert_well_formed(suite)
        assert suite.name == f"marts.{table}"
    with pytest.raises(KeyError):
        mart_suite("sales__orders", context_for("marts", "sales__orders"))


def _marts_warehouse(tmp_path: Path, statements: list[str]):
    config = make_config(tmp_path, {"x": {"connector": "files", "tables": {"t": {"path": "*.csv", "format": "csv"}}}})
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create schema marts")
        for statement in statements:
            con.execute(statement)
    return config


IDENTITY_MAP = (
    "create table marts.customer_identity_map as select * from (values {rows}) as t(source_system, "
    "source_record_id, customer_id, record_key, best_match_probability, cluster_size)"
)
GOOD_MARTS = [
    IDENTITY_MAP.format(rows="('sales', '1', 'C1', 'sales:1', 0.99, 2), ('service', '7', 'C1', 'service:7', 0.99, 2)"),
    "create table marts.dim_customer as select 'C1' as customer_id, 'a@b.de' as email",
    "create table marts.customer_360 as select 'C1' as customer_id",
]


def test_complete_marts_pass(tmp_path):
    config = _marts_warehouse(tmp_path, GOOD_MARTS)

    report = validate_marts(config, "r1", as_of=AS_OF)

    assert not report.blocked, report.message()
    assert [m.table for m in report.marts] == list(MART_SUITES)


def test_a_broken_identity_map_stops_publishing(tmp_path):
    broken = IDENTITY_MAP.format(
        rows="('sales', '1', 'C1', 'sales:1', 0.99, 2), ('service', '7', 'C1', 'service:7', 0.99, 2), "
        "('sales', '1', 'C2', 'sales:1', null, 1)"
    )
    config = _marts_warehouse(tmp_path, [broken, *GOOD_MARTS[1:]])

    report = validate_marts(config, "r1", as_of=AS_OF)

    identity = next(m for m in report.marts if m.table == "customer_identity_map")
    assert not identity.success and report.blocked
    assert any(r.startswith("record_unique") for r in identity.reasons), identity.reasons
    assert all(m.success for m in report.marts if m.table != "customer_identity_map")


def test_a_missing_mart_blocks_publishing(tmp_path):
    config = _marts_warehouse(tmp_path, GOOD_MARTS[:2])  # no customer_360

    report = validate_marts(config, "r1", as_of=AS_OF)

    missing = next(m for m in report.marts if m.table == "customer_360")
    assert report.blocked and not missing.success
    assert missing.reasons == [
        "mart_missing: marts.customer_360 does not exist: the marts were not built (or not completely), so there "
        "is nothing checked to publish"
    ]
    assert "marts.customer_360" in report.message()
