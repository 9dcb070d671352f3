"""The dbt marts on the demo pipeline: golden-record survivorship, consent, touchpoint completeness, next best
action and identity QA, each checked against an independent Python re-implementation or a deliberate
violation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.demo_pipeline import copy_demo

from customer360 import transform
from customer360.core.config import load_config
from customer360.core.rules import Rules, load_rules

pytestmark = pytest.mark.integration


UNDATED = datetime.min.replace(tzinfo=UTC)  # an undated consent statement is older than every dated one


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    result = con.execute(sql)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


@pytest.fixture(scope="module")
def rules(demo_pipeline) -> Rules:  # noqa: ANN001 - fixture
    """The demo project's rules (its survivorship file over the product's defaults, its playbook)."""
    return load_rules(demo_pipeline.config)


@pytest.fixture(scope="module")
def warehouse(demo_pipeline) -> duckdb.DuckDBPyConnection:  # noqa: ANN001 - fixture
    con = duckdb.connect(str(demo_pipeline.config.warehouse_path), read_only=True)
    con.execute("set timezone = 'UTC'")
    yield con
    con.close()


# -- the build itself ----------------------------------------------------------------------------------------


def test_dbt_build_passed_with_only_the_documented_warnings(demo_pipeline) -> None:  # noqa: ANN001
    results = json.loads((demo_pipeline.config.data_path / "dbt_target" / "run_results.json").read_text())["results"]
    statuses = {item["unique_id"]: item["status"] for item in results}
    assert statuses, "the marts stage ran dbt"
    bad = {node: status for node, status in statuses.items() if status not in {"success", "pass", "warn", "no-op"}}
    assert not bad
    warned = {node.split(".")[2] for node, status in statuses.items() if status == "warn"}
    assert warned <= {"no_strong_identifier_shared_across_customers", "fact_rows_without_a_customer"}
    assert not [node for node in statuses if node.startswith("unit_test.")], "unit tests are not the data's business"


def test_the_dbt_unit_tests_pass(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """The dbt unit tests (survivorship, rule selection, touchpoint defaults, identity parsing) pin the SQL; a run
    skips them, so here they run as docs/marts.md tells a user: `c360 dbt -- test --select test_type:unit`."""
    from support.demo_pipeline import copy_demo
    from typer.testing import CliRunner

    from customer360.cli import app as cli

    config = copy_demo(demo_pipeline, tmp_path / "demo").config
    outcome = CliRunner().invoke(cli, ["dbt", "--config", str(config.file), "--", "test", "--select", "test_type:unit"])
    assert outcome.exit_code == 0, outcome.output
    results = json.loads((config.data_path / "dbt_target" / "run_results.json").read_text())["results"]
    statuses = {item["unique_id"]: item["status"] for item in results}
    assert len(statuses) >= 4 and set(statuses.values()) == {"pass"}, statuses
    assert all(node.startswith("unit_test.") for node in statuses)


# -- golden record -------------------------------------------------------------------------------------------

GROUPS: dict[str, dict[str, Any]] = {
    "name": {
        "present": lambda r: r["first_name_std"] is not None or r["last_name_std"] is not None,
        "filled": ["first_name_std", "last_name_std"],
        "key": lambda r: "|".join(v for v in (r["first_name_folded"], r["last_name_folded"]) if v is not None),
        "attributes": {"first_name": "first_name_std", "last_name": "last_name_std"},
    },
    "email": {
        "present": lambda r: r["email_std"] is not None,
        "filled": ["email_std"],
        "key": lambda r: r["email_std"],
        "attributes": {"email": "email_std"},
    },
    "phone": {
        "present": lambda r: r["phone_e164"] is not None,
        "filled": ["phone_e164"],
        "key": lambda r: r["phone_e164"],
        "attributes": {"phone_e164": "phone_e164"},
    },
    "date_of_birth": {
        "present": lambda r: r["date_of_birth"] is not None,
        "filled": ["date_of_birth"],
        "key": lambda r: str(r["date_of_birth"]),
        "attributes": {"date_of_birth": "date_of_birth"},
    },
    "address": {
        "present": lambda r: r["street_std"] is not None,
        "filled": ["street_std", "postcode", "city_std"],
        "key": lambda r: "|".join(v for v in (r["street_folded"], r["postcode"]) if v is not None),
        "attributes": {
            "street": "street_std",
            "postcode": "postcode",
            "city": "city_std",
            "country_code": "country_code",
        },
    },
}


def expected_survivors(records: list[dict[str, Any]], rules: Rules) -> dict[tuple[str, str], dict[str, Any]]:
    """(customer_id, group) -> surviving record, by the project's survivorship rules, re-implemented in Python."""
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_customer[record["customer_id"]].append(record)
    survivors = {}
    for customer_id, members in by_customer.items():
        for group, spec in GROUPS.items():
            candidates = [r for r in members if spec["present"](r)]
            if not candidates:
                continue
            trust = list(rules.survivorship[group].source_trust)
            ranking = list(rules.survivorship[group].ranking)
            frequency: dict[str, int] = defaultdict(int)
            for r in candidates:
                frequency[spec["key"](r)] += 1

            def criterion(
                name: str,
                r: dict[str, Any],
                spec: dict[str, Any] = spec,
                trust: list[str] = trust,
                frequency: dict[str, int] = frequency,
            ) -> float:
                if name == "trust":
                    return float(trust.index(r["source_system"]) + 1) if r["source_system"] in trust else 1000.0
                if name == "completeness":
                    return -float(sum(r[c] is not None for c in spec["filled"]))
                if name == "recency":
                    return -r["updated_at"].timestamp() if r["updated_at"] is not None else 1e15
                return -float(frequency[spec["key"](r)])

            def sort_key(r: dict[str, Any], ranking: list[str] = ranking) -> tuple:
                return (*(criterion(name, r) for name in ranking), r["record_key"])

            survivors[(customer_id, group)] = min(candidates, key=sort_key)
    return survivors


def test_golden_record_follows_the_survivorship_rules(warehouse: duckdb.DuckDBPyConnection, rules: Rules) -> None:
    records = rows(
        warehouse,
        """
        select m.customer_id, r.*
        from staging.stg_entity_resolution__identity_map as m
        join staging.stg_entity_resolution__customers as c
            on c.customer_id = m.customer_id and c.customer_status = 'active'
        join staging.int_identity_records as r on r.record_key = m.record_key
    """,
    )
    golden = {row["customer_id"]: row for row in rows(warehouse, "select * from marts.dim_customer")}
    survivors = expected_survivors(records, rules)
    assert len(golden) == len({r["customer_id"] for r in records})
    mismatches = []
    for customer_id, row in golden.items():
        for group, spec in GROUPS.items():
            winner = survivors.get((customer_id, group))
            if row[f"{group}_record_key"] != (winner["record_key"] if winner else None):
                mismatches.append((customer_id, group, row[f"{group}_record_key"], winner and winner["record_key"]))
                continue
            for attribute, column in spec["attributes"].items():
                assert row[attribute] == (winner[column] if winner else None), (customer_id, attribute)
                assert row[f"{attribute}_source"] == (winner["source_system"] if winner else None)
    assert not mismatches, mismatches[:10]


def test_golden_record_business_rules(warehouse: duckdb.DuckDBPyConnection) -> None:
    # address: a customer the shop knows with an address gets the shop's, even if the newsletter's is newer
    wrong_address = warehouse.execute("""
        select d.customer_id
        from marts.dim_customer as d
        where d.street_source != 'sales' and exists (
            select 1 from marts.customer_identity_map as m
            join staging.int_identity_records as r on r.record_key = m.record_key
            where m.customer_id = d.customer_id and r.source_system = 'sales' and r.street_std is not null)
    """).fetchall()
    assert wrong_address == []
    # e-mail: the most recently updated record's address
    stale_email = warehouse.execute("""
        select d.customer_id
        from marts.dim_customer as d
        join staging.int_identity_records as winner on winner.record_key = d.email_record_key
        where exists (
            select 1 from marts.customer_identity_map as m
            join staging.int_identity_records as r on r.record_key = m.record_key
            where m.customer_id = d.customer_id and r.email_std is not null
                and r.updated_at > winner.updated_at)
    """).fetchall()
    assert stale_email == []
    # every attribute's source is one of the customer's silos; a group's attributes share one source
    inconsistent = warehouse.execute("""
        select customer_id from marts.dim_customer
        where (email_source is not null and not list_contains(source_systems, email_source))
           or (street_source is distinct from city_source)
           or (first_name_source is distinct from last_name_source)
    """).fetchall()
    assert inconsistent == []


def test_consent_latest_act_wins(warehouse: duckdb.DuckDBPyConnection) -> None:
    events = rows(
        warehouse,
        """
        select m.customer_id, e.consent_status, e.changed_at, e.consent_event_id
        from staging.int_consent_events as e
        join marts.customer_identity_map as m using (source_system, source_record_id)
        where e.purpose = 'newsletter'
    """,
    )

    def rank(event: dict[str, Any]) -> tuple:  # latest first; at the same time an opt-out wins
        changed = event["changed_at"]
        return (
            changed is not None,
            changed.timestamp() if changed else 0.0,
            event["consent_status"] == "opted_out",
            event["consent_event_id"],
        )

    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        current = latest.get(event["customer_id"])
        if current is None or rank(event) > rank(current):
            latest[event["customer_id"]] = event
    golden = rows(
        warehouse,
        "select customer_id, newsletter_consent_status, is_newsletter_subscribed from marts.dim_customer",
    )
    for row in golden:
        expected = latest.get(row["customer_id"], {}).get("consent_status", "none")
        assert row["newsletter_consent_status"] == expected, row
        assert row["is_newsletter_subscribed"] == (expected == "opted_in")
    assert {row["newsletter_consent_status"] for row in golden} == {"opted_in", "opted_out", "none"}


# -- touchpoints ---------------------------------------------------------------------------------------------


def test_every_interaction_appears_exactly_once_in_touchpoints(warehouse: duckdb.DuckDBPyConnection) -> None:
    """Every order, ticket and campaign event of the demo (counted independently of the touchpoint models: the
    project's staging models, and the raw events not quarantined) is exactly one touchpoint of its stream."""
    valid_events = """(
        select distinct event_id as id from raw_marketing.campaign_events as e
        where not exists (select 1 from quarantine.marketing__campaign_events as q
                          where q._c360_batch_id = e._c360_batch_id and q._c360_row_number = e._c360_row_number
                          and q._c360_released_at is null)
    )"""
    for stream, items in [
        ("orders", "(select order_id as id from staging.stg_sales__orders)"),
        ("tickets", "(select ticket_id as id from staging.stg_service__tickets)"),
        ("campaign_events", valid_events),
    ]:
        wrong = warehouse.execute(f"""
            select s.id, count(t.touchpoint_id) as touchpoints
            from {items} as s
            left join marts.fct_touchpoints as t on t.stream = '{stream}' and t.source_id = s.id
            group by s.id
            having count(t.touchpoint_id) != 1
        """).fetchall()
        assert wrong == [], (stream, wrong[:5])
        found, expected = warehouse.execute(f"""
            select (select count(*) from marts.fct_touchpoints where stream = '{stream}'), (select count(*) from {items})
        """).fetchone()
        assert found == expected > 0
    unmapped = warehouse.execute("select count(*) from marts.fct_touchpoints where customer_id is null").fetchone()[0]
    assert unmapped == 0
    departments = dict(
        warehouse.execute("select department, count(*) from marts.fct_touchpoints group by 1").fetchall()
    )
    assert set(departments) == {"marketing", "sales", "service"}


def test_touchpoint_kpis_add_up(warehouse: duckdb.DuckDBPyConnection) -> None:
    total, kpi_total = warehouse.execute("""
        select (select count(*) from marts.fct_touchpoints, staging.int_reference_time
                where occurred_at <= reference_at),
               (select sum(touchpoints) from marts.touchpoint_kpis)
    """).fetchone()
    assert total == kpi_total
    complaints = rows(warehouse, "select * from marts.touchpoint_kpis where touchpoint_type = 'ticket_complaint'")
    assert complaints and all(row["negative_share"] > 0.3 for row in complaints)
    orders = rows(warehouse, "select * from marts.touchpoint_kpis where touchpoint_type = 'order'")
    assert all(0 <= row["ordered_again_within_90d_share"] <= 1 for row in orders)


# -- customer 360 and the reference time ---------------------------------------------------------------------


def test_reference_time_comes_from_the_data(warehouse: duckdb.DuckDBPyConnection, demo_pipeline) -> None:  # noqa: ANN001
    reference_at, latest_interaction, latest_load = warehouse.execute(
        "select reference_at, latest_interaction_at, latest_loaded_at from staging.int_reference_time"
    ).fetchone()
    newest = warehouse.execute(
        "select max(greatest(occurred_at, last_activity_at)) from staging.int_touchpoints_unioned"
    ).fetchone()[0]
    assert latest_interaction == newest
    # the end of that day in the project's time zone: every run of one day shares one "now"
    day_ends = warehouse.execute(
        "select timezone(?, cast(cast(timezone(?, least(latest_interaction_at, latest_loaded_at)) as date) + 1"
        " as timestamp)) - interval 1 microsecond from staging.int_reference_time",
        [demo_pipeline.config.time_zone] * 2,
    ).fetchone()[0]
    assert reference_at == day_ends > min(latest_interaction, latest_load)
    assert warehouse.execute(
        "select count(distinct reference_at) = 1 and min(reference_at) = "
        "(select reference_at from staging.int_reference_time) from marts.customer_360"
    ).fetchone()[0]


def test_customer_360_agrees_with_the_facts(warehouse: duckdb.DuckDBPyConnection) -> None:
    disagreements = warehouse.execute("""
        with orders as (
            select customer_id, count(*) filter (where not is_cancelled) as order_count,
                sum(net_amount) as value
            from marts.fct_orders, staging.int_reference_time
            where ordered_at <= reference_at
            group by customer_id
        ),
        tickets as (
            select customer_id, count(*) as tickets,
                count(*) filter (where is_open and is_complaint) as open_complaints
            from marts.fct_tickets group by customer_id
        )
        select c.customer_id
        from marts.customer_360 as c
        left join orders as o using (customer_id)
        left join tickets as t using (customer_id)
        where c.order_count != coalesce(o.order_count, 0)
           or c.lifetime_value != coalesce(o.value, 0)
           or c.ticket_count != coalesce(t.tickets, 0)
           or c.has_open_complaint != (coalesce(t.open_complaints, 0) > 0)
    """).fetchall()
    assert disagreements == []
    assert (
        warehouse.execute("select count(*) from marts.customer_360").fetchone()[0]
        == warehouse.execute("select count(*) from marts.dim_customer").fetchone()[0]
    )


# -- next best action ----------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


OPERATORS: dict[str, Callable[[Any, str], bool]] = {
    "is_true": lambda v, _: v is True,
    "is_false": lambda v, _: v is False,
    "is_null": lambda v, _: v is None,
    "is_not_null": lambda v, _: v is not None,
    "=": lambda v, x: (_number(v) == _number(x)) if None not in (_number(v), _number(x)) else _text(v) == x,
    "!=": lambda v, x: (
        (_number(v) != _number(x)) if None not in (_number(v), _number(x)) else (v is not None and _text(v) != x)
    ),
    ">": lambda v, x: None not in (_number(v), _number(x)) and _number(v) > _number(x),
    ">=": lambda v, x: None not in (_number(v), _number(x)) and _number(v) >= _number(x),
    "<": lambda v, x: None not in (_number(v), _number(x)) and _number(v) < _number(x),
    "<=": lambda v, x: None not in (_number(v), _number(x)) and _number(v) <= _number(x),
}


def test_next_best_action_matches_an_independent_evaluation_of_the_playbook(
    warehouse: duckdb.DuckDBPyConnection, rules: Rules
) -> None:
    playbook = sorted(rules.playbook, key=lambda rule: rule.priority)
    conditions: dict[str, list[Any]] = defaultdict(list)
    for condition in rules.conditions:
        conditions[condition.rule_id].append(condition)
    signals = rows(warehouse, "select * from staging.int_customer_signals")
    chosen = {row["customer_id"]: row for row in rows(warehouse, "select * from marts.next_best_action")}
    assert len(chosen) == len(signals)
    statements: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for statement in rows(warehouse, "select * from marts.customer_consent"):
        statements[statement["customer_id"]].append(statement)

    def consent_allows(rule: Any, customer_id: str) -> bool:
        """The contact policy as docs/privacy.md states it, without the model's SQL."""
        if rule.channel == "none":
            return True
        purposes = {rule.consent_purpose, "any"} | ({"marketing"} if rule.promotional else set())
        governing = [
            s
            for s in statements[customer_id]
            if s["purpose"] in purposes and s["consent_channel"] in (rule.channel, "any")
        ]
        if not governing:
            return rule.requires_consent is None
        latest = max(governing, key=lambda s: (s["changed_at"] or UNDATED, s["consent_status"] == "opted_out"))
        return (
            latest["consent_status"] == "opted_in" if rule.requires_consent else latest["consent_status"] != "opted_out"
        )

    def eligible(rule: Any, customer: dict[str, Any]) -> bool:
        if not all(OPERATORS[c.operator](customer.get(c.signal), c.value) for c in conditions[rule.id]):
            return False
        if rule.promotional and not customer["is_promotion_allowed"]:
            return False
        return consent_allows(rule, customer["customer_id"])

    fired: dict[str, int] = defaultdict(int)
    stopped_by_consent = 0
    for customer in signals:
        expected = next(rule for rule in playbook if eligible(rule, customer))
        actual = chosen[customer["customer_id"]]
        assert actual["rule_id"] == expected.id, (customer, actual)
        assert actual["action_code"] == expected.action_code
        if customer["has_open_complaint"]:
            assert not actual["is_promotional"]
        stopped_by_consent += any(" opted out of " in reason for reason in actual["suppressed_actions"])
        fired[actual["rule_id"]] += 1
    assert len(fired) >= 5, f"the demo exercises most rules: {dict(fired)}"
    assert stopped_by_consent, "the demo has opt-outs that stop an action (newsletter, do-not-call notes)"


def test_consent_per_purpose_and_channel(warehouse: duckdb.DuckDBPyConnection) -> None:
    """Every silo's statements reach customer_consent: the newsletter tool's by e-mail, the helpdesk's "do not call"
    notes (any purpose, by phone); each customer, purpose and channel once, with where it came from."""
    kinds = {
        (row["purpose"], row["consent_channel"], row["evidence_source"])
        for row in rows(
            warehouse, "select distinct purpose, consent_channel, evidence_source from marts.customer_consent"
        )
    }
    assert ("any", "phone", "service.tickets") in kinds
    assert ("newsletter", "email", "marketing.contacts") in kinds
    tagged = warehouse.execute("""
        select count(distinct m.customer_id)
        from raw_service.tickets as t
        join marts.customer_identity_map as m
            on m.source_system = 'service' and m.source_record_id = (t.requester ->> 'id')
        where json_contains(t.tags, '"nicht_anrufen"')
    """).fetchone()[0]
    do_not_call = warehouse.execute(
        "select count(*) from marts.customer_consent where purpose = 'any' and consent_channel = 'phone'"
    ).fetchone()[0]
    assert tagged > 0 and do_not_call == tagged
    # a conflict is a record whose own latest act disagrees with the one that counts
    for row in rows(warehouse, "select * from marts.customer_consent where has_conflict"):
        assert row["conflicting_statements"] and all(
            not text.startswith(row["consent_status"] + " ") for text in row["conflicting_statements"]
        )


# -- identity QA ---------------------------------------------------------------------------------------------


def test_identity_qa_holds_on_the_demo(warehouse: duckdb.DuckDBPyConnection, demo_pipeline) -> None:  # noqa: ANN001
    records, mapped = warehouse.execute("""
        select (select count(*) from staging.int_identity_records),
               (select count(*) from staging.int_identity_records as r
                join marts.customer_identity_map as m using (record_key))
    """).fetchone()
    assert records == mapped
    biggest = warehouse.execute(
        "select max(n) from (select count(*) as n from marts.customer_identity_map group by customer_id)"
    ).fetchone()[0]
    assert biggest <= demo_pipeline.config.resolution.cluster_size_cap


def test_identity_qa_tests_catch_violations(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    run = copy_demo(demo_pipeline, tmp_path)
    config_file = run.root / "customer360.yml"
    text = config_file.read_text(encoding="utf-8")
    assert "cluster_size_cap: 25" in text
    config_file.write_text(text.replace("cluster_size_cap: 25", "cluster_size_cap: 2"), encoding="utf-8")
    config = load_config(config_file)
    assert transform.dbt_vars(config)["c360_cluster_size_cap"] == 2
    with duckdb.connect(str(config.warehouse_path)) as con:  # one record loses its customer
        con.execute(
            "delete from marts.customer_identity_map where record_key = (select min(record_key) "
            "from marts.customer_identity_map)"
        )

    result = transform.run_dbt(
        config,
        [
            "test",
            "--select",
            "every_record_maps_to_exactly_one_customer",
            "no_customer_above_cluster_size_cap",
            "no_strong_identifier_shared_across_customers",
        ],
        raise_on_failure=False,
    )

    assert not result.success
    failed = {failure.split(":")[0].split(".")[-1] for failure in result.failures}
    assert failed == {"every_record_maps_to_exactly_one_customer", "no_customer_above_cluster_size_cap"}
    assert result.summary()["statuses"] == {"fail": 2, "warn": 1}  # what an Airflow dbt task's XCom shows
    assert "no_strong_identifier_shared_across_customers" in result.node_lines()
