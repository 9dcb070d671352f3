"""The product on silos it has never seen (issue 13): Gipfelwerk AG's loyalty club, web shop and helpdesk
(tests/support/strangers.py), configured in YAML only, run through the real pipeline once per scenario.

Scenarios (one project folder each, outside the repository):
- three_silos: sources `marketing`, `sales`, `service` with identity, touchpoints and consent (run by the CLI);
- identity_only: one source, identity only, no facts at all;
- facts_only_source: a `webshop_events` source whose clicks belong to the shop's identity mapping;
- other_names: the three silos as `newsletter`, `crm`, `helpdesk` (the helpdesk served over HTTP).

Expected facts come from the generator's truth per identity record, so a customer's KPIs are checked against the
records the resolution actually put together; precision on the labels is asserted with a floor only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.http_api import FakeAPI
from support.strangers import Scenario, helpdesk_pages, load_world, scenario, write_project

from customer360.core.config import Config, load_config

pytestmark = pytest.mark.integration

PRECISION_FLOOR = 0.95
KIND_MARTS = {"order": "fct_orders", "ticket": "fct_tickets", "marketing_event": "fct_marketing_events"}
HELPDESK_TOKEN = "sd-7-test-token"


@dataclass
class Project:
    """One scenario's project folder after its pipeline run."""

    scenario: Scenario
    root: Path
    config: Config
    exit_code: int
    output: str
    truth: dict[str, Any]
    helpdesk_requests: list[dict[str, str]] = field(default_factory=list)  # query strings the helpdesk API saw

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        import duckdb

        with duckdb.connect(str(self.config.warehouse_path), read_only=True) as con:
            cursor = con.execute(sql, params or [])
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def count(self, table: str) -> int:
        """Rows of a table, 0 when it does not exist (a quarantine table appears with its first bad row)."""
        import duckdb

        try:
            return int(self.scalar(f"select count(*) from {table}"))
        except duckdb.CatalogException:
            return 0

    def silo_of(self, source_system: str) -> str:
        return {name: silo for silo, name in self.scenario.systems.items()}[source_system]

    def record_key(self, source_system: str, source_record_id: str) -> str:
        """The generator's key of a record (`<silo>:<id>`) from this project's source_system."""
        return f"{self.silo_of(source_system)}:{source_record_id}"

    def system(self, record_key: str) -> tuple[str, str]:
        silo, record_id = record_key.split(":", 1)
        return self.scenario.systems[silo], record_id

    def identity_silos(self) -> list[str]:
        return [silo for silo in self.scenario.systems if silo != "webshop"]

    def members(self) -> dict[str, list[str]]:
        """customer_id → the generator keys of its records (from marts.customer_identity_map)."""
        members: dict[str, list[str]] = {}
        for row in self.rows("select source_system, source_record_id, customer_id from marts.customer_identity_map"):
            members.setdefault(row["customer_id"], []).append(
                self.record_key(row["source_system"], row["source_record_id"])
            )
        return members

    def customer_of(self, record_key: str) -> str:
        system, record_id = self.system(record_key)
        return self.scalar(
            "select customer_id from marts.customer_identity_map where source_system = ? and source_record_id = ?",
            [system, record_id],
        )

    def expected_kpis(self, record_keys: list[str]) -> dict[str, float]:
        """What customer_360 must say for a customer made of these records, given the streams configured."""
        streams = self.scenario.streams
        facts: Counter[str] = Counter()
        for key in record_keys:
            facts.update(self.truth["records"].get(key, {}))
        orders = facts["kassenbons"] if "kassenbons" in streams else 0
        revenue = facts["kassenbons_revenue"] if "kassenbons" in streams else 0
        if "bestellungen" in streams:
            orders += facts["bestellungen"] - facts["bestellungen_cancelled"]
            revenue += facts["bestellungen_revenue"]
        tickets = "cases" in streams
        return {
            "order_count": orders,
            "lifetime_value": round(revenue, 2),
            "ticket_count": facts["cases"] if tickets else 0,
            "open_ticket_count": facts["cases_open"] if tickets else 0,
            "touchpoints": sum(facts[stream] for stream in streams),
        }


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without the developer's C360_* settings (a project must not depend on them)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("C360_")}
    return {**env, **extra}


def _run_in_process(root: Path, name: str, **env: str) -> Project:
    """`run_pipeline(RunContext.new(config), default_stages())` without the developer's C360_* settings."""
    from customer360 import pipeline

    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in os.environ if key.startswith("C360_")]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        patch.chdir(root)  # where a user runs it: their project folder
        config = load_config(root / "customer360.yml")
        summary = pipeline.run_pipeline(pipeline.RunContext.new(config), pipeline.default_stages())
    output = f"{summary.status}: {summary.message}" if summary.message else summary.status
    return Project(scenario(name), root, config, summary.exit_code, output, load_world(root).truth)


def _c360() -> list[str]:
    script = Path(sys.executable).with_name("c360")
    return [str(script)] if script.exists() else [shutil.which("c360") or "c360"]


@pytest.fixture(scope="module")
def three_silos(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """(a) marketing, sales, service — run the way a user runs it: `c360 run --config DIR/customer360.yml`, from
    another folder (relative paths in the file resolve against the file's folder)."""
    root = tmp_path_factory.mktemp("gipfelwerk-three-silos")
    config_file = write_project(root, "three_silos")
    done = subprocess.run(
        [*_c360(), "run", "--config", str(config_file)],
        cwd=tmp_path_factory.mktemp("elsewhere"),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    output = f"stdout:\n{done.stdout[-6000:]}\nstderr:\n{done.stderr[-6000:]}"
    return Project(
        scenario("three_silos"), root, load_config(config_file), done.returncode, output, load_world(root).truth
    )


@pytest.fixture(scope="module")
def identity_only(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """(b) one source, identity only: no touchpoints, no consent."""
    root = tmp_path_factory.mktemp("gipfelwerk-identity-only")
    write_project(root, "identity_only")
    return _run_in_process(root, "identity_only")


@pytest.fixture(scope="module")
def facts_only_source(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """(c) the shop, and a click-stream source with touchpoints only (identity: the shop's accounts)."""
    root = tmp_path_factory.mktemp("gipfelwerk-facts-only")
    write_project(root, "facts_only_source")
    return _run_in_process(root, "facts_only_source")


@pytest.fixture(scope="module")
def other_names(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """(d) the three silos as `newsletter`, `crm`, `helpdesk`; the helpdesk's cases come from its REST API."""
    root = tmp_path_factory.mktemp("gipfelwerk-other-names")
    write_project(root, "other_names")
    api = FakeAPI(token=HELPDESK_TOKEN)
    api.pages["cases"] = helpdesk_pages(root)
    api.start()
    try:
        project = _run_in_process(root, "other_names", SUPPORTDESK_URL=api.base_url, SUPPORTDESK_TOKEN=HELPDESK_TOKEN)
        project.helpdesk_requests = api.requests_to("cases")
        yield project
    finally:
        api.stop()


ALL = ("three_silos", "identity_only", "facts_only_source", "other_names")
FULL = ("three_silos", "other_names")


@pytest.fixture(scope="module", params=ALL)
def project(request: pytest.FixtureRequest) -> Project:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module", params=FULL)
def full_project(request: pytest.FixtureRequest) -> Project:
    return request.getfixturevalue(request.param)


def _require_success(project: Project) -> None:
    if project.exit_code != 0:
        pytest.fail(f"{project.scenario.name}: the pipeline ended with exit code {project.exit_code}\n{project.output}")


# -- every scenario ------------------------------------------------------------------------------------------------


def test_the_run_ends_with_exit_code_zero(project: Project) -> None:
    assert project.exit_code == 0, project.output


def test_identity_map_has_one_row_per_delivered_identity_record(project: Project) -> None:
    _require_success(project)
    rows = project.rows(
        """
        select source_system, count(*) as records, count(distinct source_record_id) as distinct_records,
               count(customer_id) as with_customer
        from marts.customer_identity_map group by source_system
        """
    )
    got = {row["source_system"]: row for row in rows}
    expected = {
        project.scenario.systems[silo]: project.truth["identity_records"][silo] for silo in project.identity_silos()
    }
    assert {system: row["records"] for system, row in got.items()} == expected
    assert all(row["records"] == row["distinct_records"] == row["with_customer"] for row in rows), rows


def test_touchpoints_per_source_and_kind_are_the_delivered_rows(project: Project) -> None:
    """Every delivered row that passed the gate is one touchpoint; rows of nobody known (a click of a visitor the
    shop has no account for) stay with a null customer_id, so nothing is lost (tests/marts/fact_rows_without_a_customer)."""
    _require_success(project)
    streams = project.truth["streams"]
    expected: Counter[tuple[str, str, str]] = Counter()
    for stream in project.scenario.streams:
        source = project.scenario.systems[streams[stream]["silo"]]
        expected[(source, streams[stream]["kind"], "touchpoints")] += streams[stream]["rows"] + streams[stream].get(
            "unmatched", 0
        )
        expected[(source, streams[stream]["kind"], "with_customer")] += streams[stream]["rows"]
    rows = project.rows(
        "select source_name, kind, count(*) as touchpoints, count(customer_id) as with_customer "
        "from marts.fct_touchpoints group by all"
    )
    got = {
        (row["source_name"], row["kind"], measure): row[measure]
        for row in rows
        for measure in ("touchpoints", "with_customer")
    }
    assert got == dict(expected)


def test_fact_marts_hold_every_delivered_fact_once(project: Project) -> None:
    _require_success(project)
    streams = project.truth["streams"]
    for kind, mart in KIND_MARTS.items():
        expected = sum(streams[s]["rows"] for s in project.scenario.streams if streams[s]["kind"] == kind)
        counts = project.rows(
            f"select count(*) as n, count(customer_id) as with_customer, count(distinct touchpoint_id) as distinct_ids "
            f"from marts.{mart}"
        )[0]
        assert counts == {"n": expected, "with_customer": expected, "distinct_ids": expected}, mart


def test_customer_kpis_equal_the_facts_of_their_records(project: Project) -> None:
    _require_success(project)
    members = project.members()
    touchpoints = {
        row["customer_id"]: row["n"]
        for row in project.rows("select customer_id, count(*) as n from marts.fct_touchpoints group by all")
    }
    kpis = project.rows(
        "select customer_id, order_count, lifetime_value, ticket_count, open_ticket_count from marts.customer_360"
    )
    assert {row["customer_id"] for row in kpis} == set(members)
    wrong = []
    for row in kpis:
        expected = project.expected_kpis(members[row["customer_id"]])
        got = {
            "order_count": row["order_count"],
            "lifetime_value": None if row["lifetime_value"] is None else round(float(row["lifetime_value"]), 2),
            "ticket_count": row["ticket_count"],
            "open_ticket_count": row["open_ticket_count"],
            "touchpoints": touchpoints.get(row["customer_id"], 0),
        }
        if got != expected:
            wrong.append((row["customer_id"], members[row["customer_id"]], got, expected))
    assert not wrong, f"{len(wrong)} of {len(kpis)} customers, e.g. {wrong[:3]}"


def test_every_customer_has_exactly_one_next_best_action(project: Project) -> None:
    _require_success(project)
    customers = {row["customer_id"] for row in project.rows("select customer_id from marts.dim_customer")}
    actions = Counter(row["customer_id"] for row in project.rows("select customer_id from marts.next_best_action"))
    assert customers and set(actions) == customers
    assert set(actions.values()) == {1}
    assert project.scalar("select count(*) from marts.customer_360 where next_best_action is null") == 0


def test_precision_on_the_labels(project: Project) -> None:
    import duckdb

    from entity_resolution.evaluate import evaluate

    _require_success(project)
    with duckdb.connect(str(project.config.warehouse_path), read_only=True) as con:
        result = evaluate(con, project.root / "labels.csv")
    report = {"scenario": project.scenario.name, **result.as_dict()}
    (project.root / "evaluation.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report))
    assert result.records_unlabelled == 0 and result.labels_unmatched == 0, report
    assert result.precision >= PRECISION_FLOOR, report


# -- the three silos (under their own names and under others) -----------------------------------------------------


def test_the_bad_rows_are_in_quarantine_with_their_reason(full_project: Project) -> None:
    """An order with an impossible date, one quoting an unknown customer number (the configured rules) and a
    truncated JSON line: kept in quarantine with a reason, never in the facts; raw keeps the parsed rows."""
    _require_success(full_project)
    sales, marketing = full_project.scenario.systems["sales"], full_project.scenario.systems["marketing"]
    streams = full_project.truth["streams"]
    reasons = [
        row["reason"]
        for row in full_project.rows(f"select _c360_reason as reason from quarantine.{sales}__bestellungen")
    ]
    assert len(reasons) == streams["bestellungen"]["quarantined"] == 2, reasons
    assert any("999999" in reason for reason in reasons) and any("31.02.2024" in reason for reason in reasons)
    raw_orders = full_project.scalar(f"select count(*) from raw_{sales}.bestellungen")
    assert raw_orders == streams["bestellungen"]["rows"] + streams["bestellungen"]["quarantined"]
    broken = full_project.rows(f"select _c360_rule as rule from quarantine.{marketing}__mailings")
    assert len(broken) == streams["mailings"]["broken_lines"] == 1, broken
    assert full_project.scalar(f"select count(*) from raw_{marketing}.mailings") == streams["mailings"]["rows"]
    for table in (f"{marketing}__mitglieder", f"{marketing}__kassenbons", f"{sales}__kundenkonten"):
        assert full_project.count(f"quarantine.{table}") == 0, table


def test_the_known_person_is_one_customer_with_her_true_kpis(full_project: Project) -> None:
    _require_success(full_project)
    person = full_project.truth["entities"][full_project.truth["known_person"]]
    customers = {full_project.customer_of(key) for key in person["records"]}
    assert len(customers) == 1, (person["records"], customers)
    (customer_id,) = customers
    row = full_project.rows(
        "select order_count, lifetime_value, ticket_count, open_ticket_count from marts.customer_360 "
        "where customer_id = ?",
        [customer_id],
    )[0]
    facts = person["facts"]
    assert row["order_count"] == facts["bestellungen"] - facts["bestellungen_cancelled"] + facts["kassenbons"] == 6
    assert float(row["lifetime_value"]) == pytest.approx(facts["bestellungen_revenue"] + facts["kassenbons_revenue"])
    assert (row["ticket_count"], row["open_ticket_count"]) == (facts["cases"], facts["cases_open"]) == (2, 1)
    orders = full_project.rows(
        "select stream, count(*) as n, count(*) filter (where is_cancelled) as cancelled, "
        "count(*) filter (where is_returned) as returned from marts.fct_orders where customer_id = ? group by all",
        [customer_id],
    )
    assert {r["stream"]: (r["n"], r["cancelled"], r["returned"]) for r in orders} == {
        "bestellungen": (4, 1, 1),
        "kassenbons": (3, 0, 0),
    }
    events = full_project.scalar("select count(*) from marts.fct_marketing_events where customer_id = ?", [customer_id])
    assert events == facts["mailings"]


def test_the_household_stays_two_customers(full_project: Project) -> None:
    _require_success(full_project)
    for pair in (full_project.truth["household"], full_project.truth["namesakes"]):
        first, second = (full_project.truth["entities"][entity]["records"] for entity in pair)
        first_customers = {full_project.customer_of(key) for key in first}
        second_customers = {full_project.customer_of(key) for key in second}
        assert not first_customers & second_customers, (pair, first_customers, second_customers)


def test_newsletter_consent_follows_the_latest_statement(full_project: Project) -> None:
    _require_success(full_project)
    statements = full_project.truth["consent"]
    wrong = []
    members = full_project.members()
    rows = full_project.rows("select customer_id, newsletter_consent_status from marts.dim_customer")
    for row in rows:
        said = sorted(
            (moment, status == "opted_out", status)
            for key in members[row["customer_id"]]
            for moment, status in statements.get(key, [])
        )
        expected = said[-1][2] if said else "none"
        if row["newsletter_consent_status"] != expected:
            wrong.append((row["customer_id"], members[row["customer_id"]], row["newsletter_consent_status"], expected))
    assert not wrong, f"{len(wrong)} of {len(rows)} customers, e.g. {wrong[:3]}"
    known = full_project.truth["entities"][full_project.truth["known_person"]]
    assert known["newsletter"] == "opted_in"


def test_the_console_finds_the_known_person_and_loads_her_profile(full_project: Project) -> None:
    from customer360.console import queries
    from customer360.console.snapshot import index_cache_dir, open_snapshot
    from customer360.serving.snapshots import current_snapshot

    _require_success(full_project)
    person = full_project.truth["entities"][full_project.truth["known_person"]]
    customer_id = full_project.customer_of(person["records"][0])
    touchpoints = full_project.scalar("select count(*) from marts.fct_touchpoints where customer_id = ?", [customer_id])
    order_number = full_project.scalar(
        "select min(order_number) from marts.fct_orders where customer_id = ? and stream = 'bestellungen'",
        [customer_id],
    )
    path = current_snapshot(full_project.config)
    assert path is not None, "no snapshot was published"
    snapshot = open_snapshot(path, index_cache_dir(full_project.config))
    try:
        for query in (
            f"{person['first_name']} {person['last_name']}",
            f"{person['last_name'].upper()} {person['first_name'].lower()}",
            person["email"].upper(),
            f"+41 {person['mobile'][:2]} {person['mobile'][2:5]} {person['mobile'][5:7]} {person['mobile'][7:]}",
            order_number,
        ):
            hits = queries.search(snapshot, query).results
            assert hits and hits[0].customer_id == customer_id, (query, [h.customer_id for h in hits[:3]])
        profile = queries.load_profile(snapshot, customer_id, state_dir=full_project.config.state_dir, page_size=50)
        assert profile is not None
        facts = person["facts"]
        assert profile.summary["order_count"] == 6
        assert float(profile.summary["lifetime_value"]) == pytest.approx(
            facts["bestellungen_revenue"] + facts["kassenbons_revenue"]
        )
        assert profile.summary["open_ticket_count"] == 1
        assert (profile.order_count, profile.ticket_count) == (7, 2)
        assert profile.campaign_event_count == facts["mailings"]
        assert profile.timeline.total == touchpoints > 0
        assert profile.next_best_action is not None
        assert set(profile.source_systems) == set(full_project.scenario.systems.values())
        assert profile.consent.get("is_newsletter_subscribed") is True
    finally:
        snapshot.close()


def test_the_helpdesk_api_was_read_page_by_page(other_names: Project) -> None:
    _require_success(other_names)
    pages = len(helpdesk_pages(other_names.root))  # 40 cases a page
    assert pages >= 2
    assert [query.get("page") for query in other_names.helpdesk_requests] == [str(n) for n in range(1, pages + 1)]
    assert all(query.get("per_page") == "40" for query in other_names.helpdesk_requests)


# -- one source, identity only ------------------------------------------------------------------------------------


def test_identity_only_marts_are_empty_but_valid(identity_only: Project) -> None:
    _require_success(identity_only)
    customers = identity_only.scalar("select count(*) from marts.dim_customer")
    assert customers > 0
    for mart in ("fct_touchpoints", *KIND_MARTS.values()):
        assert identity_only.scalar(f"select count(*) from marts.{mart}") == 0, mart
    kpis = identity_only.rows(
        "select count(*) as customers, count(*) filter (where order_count = 0 and lifetime_value = 0 "
        "and ticket_count = 0 and open_ticket_count = 0) as all_zero from marts.customer_360"
    )[0]
    assert kpis == {"customers": customers, "all_zero": customers}
    statuses = identity_only.rows("select distinct newsletter_consent_status as status from marts.dim_customer")
    assert statuses == [{"status": "none"}]


def test_identity_only_profiles_have_an_empty_timeline_and_an_action(identity_only: Project) -> None:
    from customer360.console import queries
    from customer360.console.snapshot import index_cache_dir, open_snapshot
    from customer360.serving.snapshots import current_snapshot

    _require_success(identity_only)
    person = identity_only.truth["entities"][identity_only.truth["known_person"]]
    (record,) = [key for key in person["records"] if key.startswith("sales:")]
    customer_id = identity_only.customer_of(record)
    path = current_snapshot(identity_only.config)
    assert path is not None, "no snapshot was published"
    snapshot = open_snapshot(path, index_cache_dir(identity_only.config))
    try:
        hits = queries.search(snapshot, f"{person['first_name']} {person['last_name']}").results
        assert hits and hits[0].customer_id == customer_id
        profile = queries.load_profile(snapshot, customer_id, state_dir=identity_only.config.state_dir)
        assert profile is not None
        assert profile.timeline.total == 0 and profile.timeline.items == []
        assert (profile.order_count, profile.ticket_count, profile.campaign_event_count) == (0, 0, 0)
        assert profile.summary.get("order_count") == 0 and profile.summary.get("open_ticket_count") == 0
        assert profile.next_best_action is not None
    finally:
        snapshot.close()


# -- a source of facts only ---------------------------------------------------------------------------------------


def test_a_source_of_facts_only_adds_no_identity_records(facts_only_source: Project) -> None:
    _require_success(facts_only_source)
    systems = {
        row["source_system"] for row in facts_only_source.rows("select source_system from marts.customer_identity_map")
    }
    assert systems == {"shop"}
    clicks = facts_only_source.rows(
        "select source_system, stream, kind, count(*) as n, count(customer_id) as with_customer "
        "from marts.fct_touchpoints where source_name = 'webshop_events' group by all"
    )
    truth = facts_only_source.truth["streams"]["clicks"]
    assert clicks == [
        {
            "source_system": "shop",
            "stream": "clicks",
            "kind": "web_visit",
            "n": truth["rows"] + truth["unmatched"],
            "with_customer": truth["rows"],
        }
    ]


# -- the generator -------------------------------------------------------------------------------------------------


def test_the_generator_writes_the_same_silos_every_time(tmp_path: Path) -> None:
    import sqlite3

    from support.strangers import generate

    def contents(folder: Path) -> dict[str, Any]:
        files: dict[str, Any] = {}
        for path in sorted(folder.rglob("*")):
            if path.suffix == ".sqlite":
                with sqlite3.connect(path) as con:
                    files[path.name] = list(con.iterdump())
            elif path.is_file():
                files[path.name] = path.read_bytes()
        return files

    first, second = generate(tmp_path / "one"), generate(tmp_path / "two")
    assert contents(first.folder) == contents(second.folder)
    assert first.truth == second.truth
    labels = {(silo, record) for silo, record, _ in first.labels}
    assert len(labels) == len(first.labels) == sum(first.truth["identity_records"].values())
