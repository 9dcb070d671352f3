"""The suites as code: every module builds a GX ExpectationSuite without a context, with unique rule names and
a SQL translation for every row-level rule; the mart suites stop publishing on a broken mart."""

from __future__ import annotations

import datetime as dt
import json
import pkgutil

import duckdb
import great_expectations as gx
import pytest
from support.configs import make_config

import expectations.suites as suites
from expectations import kit, sql
from expectations.kit import Baseline, SuiteContext
from expectations.runner import validate_marts

MODULES = sorted(m.name for m in pkgutil.iter_modules(suites.__path__))
AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def context_for(module: str, **changes) -> SuiteContext:
    source, _, table = module.partition("__")
    values = {
        "rows": 1000,
        "baseline": Baseline(columns=("a", "b"), fill={"a": 1.0}, reference_rows=900, batches=3),
    }
    return SuiteContext(source=source or "any", table=table or "table", as_of=AS_OF, **{**values, **changes})


def test_there_is_a_suite_for_every_demo_table_and_the_key_marts():
    expected = {
        "marketing__contacts",
        "marketing__campaign_events",
        "sales__customers",
        "sales__orders",
        "sales__order_lines",
        "service__tickets",
        "service__ticket_comments",
        "marts__customer_identity_map",
        "marts__dim_customer",
        "marts__customer_360",
        "default",
    }
    assert expected <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_suite_builds_without_a_context(module):
    build = __import__(f"expectations.suites.{module}", fromlist=["build"]).build
    suite = build(context_for(module, columns=("x",)))

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


def test_the_generic_suite_follows_the_configured_primary_key():
    config = make_config(
        __import__("pathlib").Path("/tmp"),
        {
            "x": {
                "connector": "files",
                "tables": {"t": {"path": "*.csv", "format": "csv", "primary_key": ["a", "b"]}},
            }
        },
    )
    ctx = context_for("x__t", table_config=config.source("x").table("t"))

    suite = suites.builder_for("x", "t")[0](ctx)

    rules = {kit.rule_of(e) for e in suite.expectations}
    assert {
        "a_missing",
        "b_missing",
        "primary_key_duplicate",
        "schema_stable",
        "volume_collapse",
        "volume_jump",
    } <= rules


def test_a_small_batch_tolerates_a_few_bad_rows_a_large_one_a_share():
    small = context_for("x__t", rows=5)
    large = context_for("x__t", rows=100_000)
    assert small.mostly == 0.0
    assert large.mostly == pytest.approx(0.9)


def test_freshness_is_judged_on_the_newest_batch_only():
    newest = suites.builder_for("marketing", "contacts")[0](context_for("marketing__contacts"))
    older = suites.builder_for("marketing", "contacts")[0](context_for("marketing__contacts", latest=False))
    assert "fresh" in {kit.rule_of(e) for e in newest.expectations}
    assert "fresh" not in {kit.rule_of(e) for e in older.expectations}


def test_mart_suites_stop_publishing_a_broken_identity_map(tmp_path):
    config = make_config(tmp_path, {"x": {"connector": "files", "tables": {"t": {"path": "*.csv", "format": "csv"}}}})
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.customer_identity_map as select * from (values "
            "('sales', '1', 'C1', 'sales:1', 0.99, 2), ('service', '7', 'C1', 'service:7', 0.99, 2), "
            "('sales', '1', 'C2', 'sales:1', null, 1)) as t(source_system, source_record_id, customer_id, "
            "record_key, best_match_probability, cluster_size)"
        )

    report = validate_marts(config, "r1", as_of=AS_OF)

    identity = next(m for m in report.marts if m.table == "customer_identity_map")
    assert not identity.success and report.blocked
    assert any(r.startswith("record_unique") for r in identity.reasons), identity.reasons
    assert all(m.skipped for m in report.marts if m.table != "customer_identity_map")
