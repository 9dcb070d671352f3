"""Identity resolution end to end on tiny, readable scenarios: real ingestion, real dbt standardisation, the real
Splink model (trained on the session's demo world), guard-railed clustering and stable IDs."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
import yaml
from support.demo_pipeline import REPO, DemoRun, copy_demo, run_demo_pipeline

from customer360 import pipeline, transform
from customer360.core.config import load_config
from customer360.core.decisions import add_decision

pytestmark = pytest.mark.integration

COLUMNS = ["id", "first_name", "last_name", "full_name", "email", "phone", "birth_date", "street", "postcode", "city"]


class Scenario:
    """A one-source world (a CRM export) whose records we write by hand and resolve with the demo's model."""

    def __init__(self, root: Path, model_dir: Path) -> None:
        self.root = root
        self.exports = root / "exports"
        self.exports.mkdir(parents=True)
        config = {
            "warehouse": {"path": "data/warehouse.duckdb", "memory_limit": "2GB"},
            "data_dir": "data",
            "resolution": {"spec": str(REPO / "entity_resolution/specs/customer.yml"), "model_dir": str(model_dir)},
            "sources": {
                "crm": {
                    "connector": "files",
                    "tables": {"people": {"path": "exports/*.csv", "format": "csv", "primary_key": "id"}},
                    "identity": [
                        {
                            "table": "people",
                            "source_record_id": "id",
                            **{field: field for field in ("first_name", "last_name", "full_name", "email", "phone")},
                            "date_of_birth": "birth_date",
                            **{field: field for field in ("street", "postcode", "city")},
                        }
                    ],
                }
            },
        }
        (root / "customer360.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        self.config = load_config(root / "customer360.yml")
        self.deliveries = 0

    def deliver(self, rows: list[dict[str, str]]) -> None:
        self.deliveries += 1
        with (self.exports / f"people_{self.deliveries}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def resolve(self, full: bool = False) -> pipeline.RunSummary:
        ctx = pipeline.RunContext.new(self.config)
        stages = [
            ("ingest", pipeline.ingest),
            ("staging", pipeline.staging),
            ("resolve", lambda c: pipeline.resolve(c, full=full)),
        ]
        summary = pipeline.run_pipeline(ctx, stages)
        assert summary.exit_code == 0, summary.message
        return summary

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.config.warehouse_path), read_only=True) as con:
            return con.execute(sql).fetchall()

    def customers(self) -> dict[str, str]:
        return dict(self.query("select source_record_id, customer_id from entity_resolution.identity_map"))

    def groups(self) -> list[set[str]]:
        by_customer: dict[str, set[str]] = {}
        for record, customer in self.customers().items():
            by_customer.setdefault(customer, set()).add(record)
        return sorted(by_customer.values(), key=min)


def person(id: str, **fields: str) -> dict[str, str]:
    return {"id": id, **fields}


@pytest.fixture(scope="module")
def model_dir(demo_pipeline: DemoRun) -> Path:
    return demo_pipeline.config.resolve_path(demo_pipeline.config.resolution.model_dir)


@pytest.fixture
def scenario(tmp_path: Path, model_dir: Path) -> Scenario:
    return Scenario(tmp_path, model_dir)


HOUSEHOLD = dict(
    email="familie.mueller@web.de", phone="040 1234567", street="Hauptstraße 12", postcode="20095", city="Hamburg"
)


def test_household_sharing_address_landline_and_family_email_stays_apart(scenario: Scenario) -> None:
    scenario.deliver(
        [
            person("h1", first_name="Anna", last_name="Müller", birth_date="1980-03-01", **HOUSEHOLD),
            person("h2", first_name="Thomas", last_name="Müller", birth_date="1978-07-15", **HOUSEHOLD),
            person("h3", first_name="Lena", last_name="Mueller", birth_date="2010-05-05", **HOUSEHOLD),
            person("h4", full_name="A. Müller", email="familie.mueller@web.de", phone="(040) 123 45 67"),
        ]
    )
    scenario.resolve()
    groups = scenario.groups()
    # "A." at the family's e-mail and landline fits Anna but may be anyone of the family: it joins nobody
    assert groups == [{"h1"}, {"h2"}, {"h3"}, {"h4"}], groups
    assert {frozenset({"h2"}), frozenset({"h3"})} <= {frozenset(group) for group in groups}
    vetoed = scenario.query("select count(*) from entity_resolution.links where vetoed_by = 'different_first_names'")
    assert vetoed[0][0] >= 3  # the model alone would have merged the household: the guard rail says why not


def test_a_record_without_first_name_and_sibling_short_names_join_nobody_on_household_evidence(
    scenario: Scenario,
) -> None:
    """Found at 1M people: "Petersen" on the family's e-mail joined one of the family, and Klaus and Niklas (both
    short for Nikolaus) at one address were one customer. An e-mail that names the person still joins a record
    without a first name to that person."""
    family = dict(email="familie.petersen@web.de", street="Lindenweg 4", postcode="24103", city="Kiel")
    scenario.deliver(
        [
            person("p1", last_name="Petersen", **family),
            person("p2", first_name="Marie", last_name="Petersen", birth_date="1990-04-01", **family),
            person("p3", first_name="Klaus", last_name="Schmid", street="Am Hang 2", postcode="79098", city="Freiburg"),
            person(
                "p4", first_name="Niklas", last_name="Schmid", street="Am Hang 2", postcode="79098", city="Freiburg"
            ),
            person("p5", last_name="Berger", email="marie.berger@gmx.de"),
            person("p6", first_name="Marie", last_name="Berger", email="marie.berger@gmx.de", city="Kiel"),
        ]
    )
    scenario.resolve()
    groups = scenario.groups()
    assert {"p5", "p6"} in groups  # marie.berger@ names Marie Berger
    assert [group for group in groups if group & {"p1", "p2", "p3", "p4"}] == [{"p1"}, {"p2"}, {"p3"}, {"p4"}], groups
    vetoes = dict(scenario.query("select vetoed_by, count(*) from entity_resolution.links group by all"))
    assert vetoes.get("missing_first_name_needs_personal_evidence", 0) >= 1


def test_an_initial_joins_its_person_on_what_only_that_person_has(scenario: Scenario) -> None:
    """An initial fits anyone of a household: it joins a person on that person's own e-mail address (julia87@ names
    Julia) or mobile number, never on a landline and an address, which the household shares."""
    scenario.deliver(
        [
            person("a1", first_name="Julia", last_name="Haseldorf", email="julia87@gmail.com", **_HASELDORF_HOME),
            person("a2", full_name="J. Haseldorf", email="julia87@gmail.com", **_HASELDORF_HOME),
            person("b1", first_name="Sabine", last_name="Nordschmidt", phone="0160 7183965", birth_date="1963-06-24"),
            person("b2", full_name="S. Nordschmidt", phone="+49 160 7183965", email="nordschmidt918@gmx.de"),
            person("c1", first_name="Karl", last_name="Kirchschmidt", phone="04821 8076677", **_KIRCHSCHMIDT_HOME),
            person("c2", full_name="K. Kirchschmidt", phone="(04821) 807 66 77", **_KIRCHSCHMIDT_HOME),
        ]
    )
    scenario.resolve()
    assert scenario.groups() == [{"a1", "a2"}, {"b1", "b2"}, {"c1"}, {"c2"}]
    assert scenario.query(
        "select source_record_id, phone_is_mobile from staging.int_identity_records"
        " where source_record_id in ('b2', 'c2') order by 1"
    ) == [("b2", True), ("c2", False)]
    vetoes = dict(scenario.query("select vetoed_by, count(*) from entity_resolution.links group by all"))
    assert vetoes.get("fitting_first_name_needs_personal_evidence", 0) == 1  # Karl and K. at the family's landline


_HASELDORF_HOME = dict(street="Dorfstraße 35", postcode="20527", city="Hamburg")
_KIRCHSCHMIDT_HOME = dict(street="Deichstraße 4", postcode="25524", city="Itzehoe")


def test_changed_guard_rails_judge_every_link_again(scenario: Scenario) -> None:
    scenario.deliver([person("g1", last_name="Petersen", email="familie.petersen@web.de", city="Kiel")])
    assert scenario.resolve().stages["resolve"].mode == "full"
    assert scenario.resolve().stages["resolve"].mode == "incremental"
    with duckdb.connect(str(scenario.config.warehouse_path)) as con:  # as after an upgrade that changed the rails
        con.execute("update entity_resolution.runs set guard_rails = 'older rails'")
    assert scenario.resolve().stages["resolve"].mode == "full"


def test_twins_are_two_customers(scenario: Scenario) -> None:
    shared = dict(
        last_name="Schneider",
        birth_date="02.02.1995",
        phone="089 7654321",
        street="Lindenweg 3",
        postcode="80331",
        city="München",
    )
    scenario.deliver(
        [
            person("t1", first_name="Max", email="max.schneider@gmx.de", **shared),
            person("t2", first_name="Moritz", email="moritz.schneider@gmx.de", **shared),
        ]
    )
    scenario.resolve()
    assert scenario.groups() == [{"t1"}, {"t2"}]


def test_one_person_written_many_ways_is_one_customer(scenario: Scenario) -> None:
    scenario.deliver(
        [
            person(
                "p1",
                first_name="Alexander",
                last_name="Müller",
                email="alexander.mueller@gmx.de",
                phone="0151/2345678",
                birth_date="24.12.1985",
                street="Hauptstraße 5",
                postcode="10115",
                city="Berlin",
            ),
            person(
                "p2",
                first_name="Alex",
                last_name="Mueller",
                email=" Alexander.Mueller@GMX.de ",
                phone="+49 151 2345678",
                birth_date="1985-12-24",
            ),
            person("p3", full_name="Mueller, Alexander", email="alexander.mueller@gmx.de", phone="0049 151 2345678"),
            person(
                "p4",
                first_name="Müller",
                last_name="Alexander",
                birth_date="24.12.1985",
                street="Hauptstr. 5",
                postcode="10115",
            ),
        ]
    )
    scenario.resolve()
    assert scenario.groups() == [{"p1", "p2", "p3", "p4"}]
    standardised = scenario.query(
        "select distinct email_std, phone_e164 from staging.int_identity_records where source_record_id in ('p1', 'p2')"
    )
    assert standardised == [("alexander.mueller@gmx.de", "+491512345678")]


def test_junk_values_never_link_people(scenario: Scenario) -> None:
    scenario.deliver(
        [
            person("j1", first_name="Peter", last_name="Meier", email="test@test.de", phone="0000000", city="Hamburg"),
            person("j2", first_name="Paula", last_name="Schulz", email="test@test.de", phone="0000000", city="München"),
            person("j3", first_name="unbekannt", last_name="Schulz", email="keine@angabe.de", phone="123456"),
        ]
    )
    scenario.resolve()
    assert scenario.groups() == [{"j1"}, {"j2"}, {"j3"}]
    assert scenario.query(
        "select count(*) from staging.int_identity_records where email_std is not null or phone_e164 is not null"
        " or first_name_folded = 'unbekannt'"
    ) == [(0,)]


def test_the_same_name_alone_is_not_enough(scenario: Scenario) -> None:
    scenario.deliver(
        [
            person("n1", first_name="Thomas", last_name="Müller", email="thomas.mueller@web.de", city="Hamburg"),
            person("n2", first_name="Thomas", last_name="Mueller", email="t.mueller@gmx.de", city="München"),
        ]
    )
    scenario.resolve()
    assert scenario.groups() == [{"n1"}, {"n2"}]


def test_decisions_stick_across_runs(scenario: Scenario) -> None:
    scenario.deliver(
        [
            person("d1", first_name="Jana", last_name="Weber", email="jana.weber@web.de", birth_date="1990-01-01"),
            person("d2", first_name="Jana", last_name="Weber", email="jana.weber@web.de", phone="0170 1112223"),
            person(
                "d3", first_name="J.", last_name="Weber", email="jw@posteo.de", street="Ringstr. 1", postcode="50667"
            ),
        ]
    )
    scenario.resolve()
    assert scenario.groups() == [{"d1", "d2"}, {"d3"}]
    kept = scenario.customers()["d1"]

    state = scenario.config.state_dir
    add_decision(state, "crm:d1", "crm:d2", "different", "agent.anna", "two Janas: checked on the phone")
    add_decision(state, "crm:d1", "crm:d3", "same", "agent.anna", "customer confirmed her new address")
    scenario.resolve()
    assert scenario.groups() == [{"d1", "d3"}, {"d2"}]
    assert scenario.customers()["d1"] == kept  # the older ID survives; d3's customer is merged into it
    events = scenario.query(
        "select event, related_customer_id from entity_resolution.customer_id_history"
        " where run_id = (select max(run_id) from entity_resolution.customer_id_history) order by event"
    )
    assert events == [("merged", kept), ("split", kept)]

    scenario.resolve()  # and the next run still obeys them
    assert scenario.groups() == [{"d1", "d3"}, {"d2"}]


def test_explanations_show_which_fields_agreed(scenario: Scenario) -> None:
    from customer360.serving.explain import explain_customer

    scenario.deliver(
        [
            person("e1", first_name="Sabine", last_name="Weiß", email="sabine.weiss@t-online.de", phone="0171 5556667"),
            person(
                "e2", first_name="Sabine", last_name="Weiss", email="sabine.weiss@t-online.de", birth_date="1970-07-07"
            ),
        ]
    )
    summary = scenario.resolve()
    transform.run_dbt(
        scenario.config, ["run", "--select", "+customer_identity_map +customer_ids +customer_match_evidence"]
    )
    customer = scenario.customers()["e1"]
    with duckdb.connect(str(scenario.config.warehouse_path), read_only=True) as con:
        explanation = explain_customer(con, customer)
    assert explanation is not None and {m["source_record_id"] for m in explanation.members} == {"e1", "e2"}
    (link,) = explanation.links
    evidence = {comparison: (label, weight) for comparison, label, weight in link.evidence}
    assert evidence["email"][0] == "same e-mail address, and it names the person" and evidence["email"][1] > 5
    assert evidence["last_name"][0].startswith("same last name") and evidence["last_name"][1] > 0
    assert evidence["phone"][1] == 0.0  # missing on one side: no evidence either way
    charts = {Path(path).name for path in summary.stages["resolve"].charts}
    assert {"match_weights.html", "waterfall.html", "cluster_studio.html"} <= charts


def test_incremental_run_gives_the_same_customers_as_a_full_run(tmp_path: Path) -> None:
    incremental = run_demo_pipeline(tmp_path / "incremental", people=300, seed=5, upto=1)
    assert incremental.summary.exit_code == 0
    second = run_demo_pipeline(tmp_path / "incremental", people=300, seed=5, upto=2)
    report = second.summary.stages["resolve"]
    assert report.mode == "incremental" and 0 < report.records_changed < report.records
    # its charts sample the links and customers the run touched
    assert {"waterfall.html", "cluster_studio.html"} <= {Path(path).name for path in report.charts}

    # the same final records and model, resolved from scratch
    full = copy_demo(second, tmp_path / "full")
    assert pipeline.resolve(pipeline.RunContext.new(full.config), full=True).mode == "full"

    def partition(run: DemoRun) -> set[frozenset[str]]:
        with duckdb.connect(str(run.config.warehouse_path), read_only=True) as con:
            rows = con.execute(
                "select customer_id, list(record_key) from entity_resolution.identity_map group by 1"
            ).fetchall()
        return {frozenset(records) for _, records in rows}

    assert partition(second) == partition(full)

    def bridges(run: DemoRun) -> set[tuple[str, int]]:
        with duckdb.connect(str(run.config.warehouse_path), read_only=True) as con:
            return set(
                con.execute("select record_key, clusters_reached from entity_resolution.bridge_records").fetchall()
            )

    assert bridges(second) == bridges(full)
