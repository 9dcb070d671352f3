"""Fast tests of the resolution logic that needs no Splink model: guard-railed clustering, stable IDs,
decisions and evaluation, on tiny inline tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from customer360.core import decisions
from entity_resolution import stable_ids
from entity_resolution.clustering import constrained_clusters
from entity_resolution.evaluate import evaluate

# -- clustering with cannot-link constraints ---------------------------------------------------------------------


def test_weak_record_cannot_chain_two_people() -> None:
    # B ("A. Müller", family e-mail) links strongly to both Anna (A) and Anton (C); A and C cannot be one person.
    result = constrained_clusters(
        nodes=["A", "B", "C"],
        links=[("A", "B", 12.0), ("B", "C", 9.0)],
        cannot_link={("A", "C")},
        cap=10,
    )
    assert result.cluster_of == {"A": "A", "B": "A", "C": "C"}
    assert result.refused == [("B", "C", "would put A and C together, which cannot link")]


def test_strongest_link_wins_regardless_of_input_order() -> None:
    links = [("B", "C", 15.0), ("A", "B", 9.0)]
    result = constrained_clusters(["A", "B", "C"], links, {("A", "C")}, cap=10)
    assert result.cluster_of == {"A": "A", "B": "B", "C": "B"}
    assert (
        constrained_clusters(["C", "B", "A"], list(reversed(links)), {("A", "C")}, cap=10).cluster_of
        == result.cluster_of
    )


def test_size_cap_refuses_links_that_would_grow_a_cluster_past_it() -> None:
    nodes = [f"r{i}" for i in range(5)]
    links = [(f"r{i}", f"r{i + 1}", 10.0 - i) for i in range(4)]
    result = constrained_clusters(nodes, links, set(), cap=3)
    sizes = sorted(list(result.cluster_of.values()).count(name) for name in set(result.cluster_of.values()))
    assert sizes == [2, 3]
    assert all("size cap of 3" in reason for _, _, reason in result.refused)


# -- stable customer IDs -----------------------------------------------------------------------------------------


@pytest.fixture
def er_con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema entity_resolution")
    con.execute(
        "create table entity_resolution.records (record_key varchar, source_system varchar, source_record_id varchar)"
    )
    con.execute(
        "create table entity_resolution.components (record_key varchar, component_key varchar, cluster_key varchar)"
    )
    con.execute(
        "create table entity_resolution.links (record_key_l varchar, record_key_r varchar, match_probability double,"
        " is_accepted boolean)"
    )
    return con


def _cluster(con: duckdb.DuckDBPyConnection, run_id: str, clusters: list[list[str]]) -> dict[str, int]:
    con.execute("delete from entity_resolution.records; delete from entity_resolution.components")
    for members in clusters:
        for key in members:
            system, record_id = key.split(":")
            con.execute("insert into entity_resolution.records values (?, ?, ?)", [key, system, record_id])
            con.execute("insert into entity_resolution.components values (?, ?, ?)", [key, min(members), min(members)])
    return stable_ids.assign_customer_ids(con, run_id)


def _ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select record_key, customer_id from entity_resolution.identity_map").fetchall())


def _history(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple]:
    return con.execute(
        "select event, customer_id, related_customer_id, records from entity_resolution.customer_id_history"
        " where run_id = ? order by event, customer_id",
        [run_id],
    ).fetchall()


def test_ids_survive_reruns_merges_and_splits(er_con: duckdb.DuckDBPyConnection) -> None:
    con = er_con
    assert _cluster(con, "run1", [["s:1", "s:2"], ["m:1"], ["m:2", "m:3"]]) == {"created": 3}
    first = _ids(con)
    assert first == {
        "s:1": "C000000003",
        "s:2": "C000000003",
        "m:1": "C000000001",
        "m:2": "C000000002",
        "m:3": "C000000002",
    }

    # the same clusters again: nothing changes, nothing recorded
    assert _cluster(con, "run2", [["s:1", "s:2"], ["m:1"], ["m:2", "m:3"]]) == {}
    assert _ids(con) == first

    # m:1 joins s:1/s:2 -> the larger customer keeps its ID, the other is recorded as merged into it
    assert _cluster(con, "run3", [["s:1", "s:2", "m:1"], ["m:2", "m:3"]]) == {"merged": 1}
    assert set(_ids(con).values()) == {"C000000003", "C000000002"}
    assert _history(con, "run3") == [("merged", "C000000001", "C000000003", 1)]
    status = con.execute(
        "select status, merged_into from entity_resolution.customers where customer_id = 'C000000001'"
    ).fetchone()
    assert status == ("merged", "C000000003")

    # a split: the larger part keeps the ID, the rest gets a new one recorded as split from it
    assert _cluster(con, "run4", [["s:1", "s:2"], ["m:1"], ["m:2", "m:3"]]) == {"split": 1}
    ids = _ids(con)
    assert ids["s:1"] == ids["s:2"] == "C000000003"
    assert ids["m:1"] == "C000000004"  # a merged ID is never reused
    assert _history(con, "run4") == [("split", "C000000004", "C000000003", 1)]


def test_vanished_records_retire_their_customer(er_con: duckdb.DuckDBPyConnection) -> None:
    _cluster(er_con, "run1", [["s:1"], ["s:2"]])
    assert _cluster(er_con, "run2", [["s:1"]]) == {"retired": 1}
    assert er_con.execute("select count(*) from entity_resolution.customers where status = 'retired'").fetchone() == (
        1,
    )


def test_records_moving_between_surviving_customers_are_recorded(er_con: duckdb.DuckDBPyConnection) -> None:
    _cluster(er_con, "run1", [["a:1", "a:2", "a:3"], ["b:1", "b:2", "b:3"]])
    before = _ids(er_con)
    assert _cluster(er_con, "run2", [["a:1", "a:2"], ["a:3", "b:1", "b:2", "b:3"]]) == {"records_moved": 1}
    after = _ids(er_con)
    assert after["a:1"] == before["a:1"] and after["b:1"] == before["b:1"] and after["a:3"] == before["b:1"]


# -- decisions ---------------------------------------------------------------------------------------------------


def test_latest_decision_per_pair_wins(tmp_path: Path) -> None:
    decisions.add_decision(tmp_path, "sales:2", "sales:1", "same", "alice", "same phone and birthday")
    decisions.add_decision(tmp_path, "sales:1", "sales:2", "different", "bob", "twins, checked by phone")
    latest = decisions.list_decisions(tmp_path)
    assert [(d.record_key_l, d.record_key_r, d.decision, d.decided_by) for d in latest] == [
        ("sales:1", "sales:2", "different", "bob")
    ]
    assert len(decisions.list_decisions(tmp_path, include_superseded=True)) == 2
    con = duckdb.connect()
    con.execute("create schema entity_resolution")
    decisions.sync_to_warehouse(con, tmp_path)
    assert con.execute("select record_key_l, record_key_r, decision from entity_resolution.decisions").fetchall() == [
        ("sales:1", "sales:2", "different")
    ]


@pytest.mark.parametrize(
    ("record_a", "record_b", "decision", "message"),
    [
        ("sales:1", "sales:1", "same", "two different records"),
        ("sales1", "sales:2", "same", "<source_system>:<source_record_id>"),
        ("sales:1", "sales:2", "maybe", "decision must be one of"),
    ],
)
def test_bad_decisions_are_refused_with_a_reason(
    tmp_path: Path, record_a: str, record_b: str, decision: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        decisions.add_decision(tmp_path, record_a, record_b, decision, "alice")


# -- evaluation --------------------------------------------------------------------------------------------------


def test_pairwise_precision_recall_and_cluster_counts(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(
        """
        create table identity_map as select * from (values
            ('s', '1', 'C1'), ('s', '2', 'C1'), ('m', '1', 'C1'),   -- s:1, s:2 are person P; m:1 is Q (false merge)
            ('m', '2', 'C2'), ('m', '3', 'C3')                        -- m:2, m:3 are person R (missed link)
        ) t(source_system, source_record_id, customer_id)
        """
    )
    labels = tmp_path / "labels.csv"
    labels.write_text("source_system,source_record_id,entity_id\ns,1,P\ns,2,P\nm,1,Q\nm,2,R\nm,3,R\nx,9,Z\n")
    result = evaluate(con, labels, identity_map="identity_map")
    assert (result.true_pairs, result.predicted_pairs, result.true_positive_pairs) == (2, 3, 1)
    assert result.precision == pytest.approx(1 / 3) and result.recall == pytest.approx(1 / 2)
    assert result.f1 == pytest.approx(0.4)
    assert (result.customers, result.entities, result.exact_clusters, result.labels_unmatched) == (3, 3, 0, 1)


def test_a_same_decision_is_obeyed_even_where_a_guard_rail_would_refuse() -> None:
    """A said same as B, B same as C: one customer, although a rule forbids A with C; only a human "different"
    decision stands against a human "same"."""
    from entity_resolution.clustering import constrained_clusters

    links = [("a", "b", 99.0), ("b", "c", 99.0)]
    rules = {("a", "c")}
    decided = {("a", "b"), ("b", "c")}
    result = constrained_clusters(["a", "b", "c"], links, rules, cap=25, must_link=decided)
    assert len(set(result.cluster_of.values())) == 1 and result.refused == []
    # without the decisions, the rule splits them
    result = constrained_clusters(["a", "b", "c"], links, rules, cap=25)
    assert len(set(result.cluster_of.values())) == 2
    # a human "different" between a and c wins over the chain of "same"
    result = constrained_clusters(["a", "b", "c"], links, rules, cap=25, must_link=decided, decided_apart=rules)
    assert len(set(result.cluster_of.values())) == 2 and result.refused


def test_a_level_no_random_pair_showed_gets_the_u_its_absence_proves() -> None:
    """At a million records, millions of random pairs hold no two with one e-mail address: u is below 3/n (the
    rule of three), not Splink's generic default (about 1/1000), which made "same e-mail" nearly worthless."""
    from entity_resolution.model import _bound_unobserved_u

    settings = {
        "comparisons": [
            {
                "output_column_name": "email",
                "comparison_levels": [
                    {"is_null_level": True},
                    {"label_for_charts": "same e-mail", "m_probability": 0.9},
                    {"label_for_charts": "different e-mail", "m_probability": 0.1, "u_probability": 1.0},
                ],
            }
        ]
    }
    changes = _bound_unobserved_u(settings, sampled_pairs=5e6)
    levels = settings["comparisons"][0]["comparison_levels"]
    assert levels[1]["u_probability"] == pytest.approx(6e-7)
    assert levels[2]["u_probability"] == 1.0 and "u_probability" not in levels[0]
    assert changes == [{"comparison": "email", "level": "same e-mail", "u": pytest.approx(6e-7)}]


def test_training_without_records_says_what_to_do(tmp_path: Path) -> None:
    from customer360.core.errors import StageFailed
    from entity_resolution.model import train
    from entity_resolution.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "entity_resolution/specs/customer.yml")
    con = duckdb.connect()
    con.execute("create table records (" + ", ".join(f'"{column}" varchar' for column in spec.columns) + ")")
    with pytest.raises(StageFailed, match="holds 0 identity record.*Load the sources first"):
        train(con, "records", spec, tmp_path / "models")
    con.execute(f'insert into records ("{spec.unique_id}") values (?)', ["only-one"])
    with pytest.raises(StageFailed, match="holds 1 identity record"):
        train(con, "records", spec, tmp_path / "models")


def test_undo_withdraws_the_whole_action_and_the_pair_falls_back(tmp_path: Path) -> None:
    decisions.add_decision(tmp_path, "sales:1", "web:9", "same", "alice", "same passport")
    split = decisions.add_decisions(tmp_path, [("web:9", "sales:1"), ("web:9", "sales:2")], "different", "bob")
    assert len({d.action_id for d in split}) == 1
    assert {d.decision for d in decisions.list_decisions(tmp_path)} == {"different"}

    withdrawn = decisions.withdraw(tmp_path, split[1].decision_id, "carol")
    assert [d.decision_id for d in withdrawn] == [d.decision_id for d in split]  # the whole action
    in_force = decisions.list_decisions(tmp_path)
    assert [(d.record_key_l, d.record_key_r, d.decision) for d in in_force] == [("sales:1", "web:9", "same")]
    assert decisions.decisions_about(tmp_path, ["sales:2"]) == []
    assert len(decisions.list_decisions(tmp_path, include_superseded=True)) == 3  # nothing is deleted
    with pytest.raises(LookupError, match="already undone"):
        decisions.withdraw(tmp_path, split[0].decision_id, "carol")
    con = duckdb.connect()
    con.execute("create schema entity_resolution")
    decisions.sync_to_warehouse(con, tmp_path)
    assert con.execute("select decision from entity_resolution.decisions").fetchall() == [("same",)]


def test_a_decision_store_from_before_undo_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(decisions.decisions_path(tmp_path))
    old.executescript(
        """
        create table decisions (decision_id integer primary key autoincrement, record_key_l text not null,
            record_key_r text not null, decision text not null, reason text, decided_by text not null,
            decided_at text not null);
        insert into decisions (record_key_l, record_key_r, decision, decided_by, decided_at)
        values ('a:1', 'b:1', 'different', 'dave', '2026-01-01T00:00:00+00:00');
        """
    )
    old.commit()
    old.close()
    (decision,) = decisions.list_decisions(tmp_path)
    assert decision.decided_by == "dave" and decision.action_id is None
    assert [d.decision_id for d in decisions.withdraw(tmp_path, decision.decision_id, "erin")] == [1]
    assert decisions.list_decisions(tmp_path) == []


# -- the product's cannot-link rules on hand-made record pairs ---------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "vetoed"),
    [
        (("anna", 4000), ("anja", 1500), True),  # two common names a letter apart: two people
        (("christian", 3000), ("christina", 2500), True),  # transposed, both common
        (("anna", 4000), ("anan", 3), False),  # a typo makes a rare spelling
        (("anna", 4000), ("ana", 1500), False),  # another length: a spelling of one name (Ana, Anna)
        (("lqura", 1), ("laura", 6), False),  # in small data nothing is common yet: a typo
        (("marie", 5000), ("marcel", 2000), True),  # two letters apart in a short name
        (("anna", 4000), ("anja", None), False),  # a name the model never saw is not a common one
    ],
)
def test_two_common_first_names_a_letter_apart_are_two_people(
    left: tuple[str, int | None], right: tuple[str, int | None], vetoed: bool
) -> None:
    from entity_resolution.clustering import cannot_link_predicate
    from entity_resolution.spec import find_spec, load_spec

    spec = load_spec(find_spec("customer", Path(".")))
    trained_on = 1_000_000 if max(left[1] or 0, right[1] or 0) > 10 else 600
    con = duckdb.connect()
    con.execute(
        """
        create table people (key varchar, first_name_folded varchar, first_name_canonical varchar,
            first_name_loose varchar, first_initials varchar, last_name_loose varchar, email_std varchar,
            email_names_person boolean, date_of_birth date, first_name_frequency double, first_name_records bigint)
        """
    )
    for key, (name, records) in (("l", left), ("r", right)):
        con.execute(
            "insert into people values (?, ?, ?, ?, ?, 'weber', null, null, null, ?, ?)",
            [key, name, name, name, name[0], None if records is None else records / trained_on, records],
        )
    rule = con.execute(
        f"select {cannot_link_predicate(spec.cannot_link_rules)} from people as l, people as r"
        " where l.key = 'l' and r.key = 'r'"
    ).fetchone()[0]
    assert (rule == "different_first_names") == vetoed, rule


@pytest.mark.parametrize(
    ("left", "right", "evidence", "vetoed"),
    [
        (("lisa", 22000), ("luisa", 1600), "", True),  # two established names a letter apart: maybe siblings
        (("lisa", 22000), ("luisa", 1600), "birth date", False),  # ... unless something personal agrees
        (("lisa", 22000), ("luisa", 1600), "mobile", False),
        (("goran", 870), ("zoran", 990), "", True),
        (("claudia", 20000), ("klaudia", 590), "", False),  # a spelling of one name is rarer by far
        (("anna", 53000), ("anan", 40), "", False),  # a typo makes a rare spelling
        (("lqura", 1), ("laura", 6), "", False),  # in small data nothing is established yet
        (("jean pierre", 44), ("jeanpierre", 11), "", False),  # one name, written with and without a space
        (("lisa", 22000), ("luisa", None), "", False),  # a name the model never saw is not an established one
        (("lisa", 22000), (None, None), "", False),  # no first name: another rail's business
    ],
)
def test_two_established_first_names_a_letter_apart_need_personal_evidence(
    left: tuple[str, int | None], right: tuple[str | None, int | None], evidence: str, vetoed: bool
) -> None:
    from entity_resolution.clustering import cannot_link_predicate
    from entity_resolution.spec import find_spec, load_spec

    spec = load_spec(find_spec("customer", Path(".")))
    (rule,) = [rule for rule in spec.link_requirements if rule.name == "two_established_names_need_personal_evidence"]
    trained_on = 1_000_000
    con = duckdb.connect()
    con.execute(
        """
        create table people (key varchar, first_name_folded varchar, first_name_canonical varchar, email_std varchar,
            email_names_person boolean, phone_e164 varchar, phone_is_mobile boolean, date_of_birth date,
            reference_numbers varchar[], first_name_frequency double, first_name_records bigint)
        """
    )
    for key, (name, records), phone in (("l", left, "+4915112345678"), ("r", right, "+4940123456")):
        con.execute(
            "insert into people values (?, ?, ?, 'familie.thomas@web.de', false, ?, ?, ?, null, ?, ?)",
            [
                key,
                name,
                name,
                "+4915112345678" if evidence == "mobile" else phone,
                evidence == "mobile",
                "1990-05-01" if evidence == "birth date" else None,
                None if records is None else records / trained_on,
                records,
            ],
        )
    broken = con.execute(
        f"select {cannot_link_predicate([], [rule])} from people as l, people as r where l.key = 'l' and r.key = 'r'"
    ).fetchone()[0]
    assert (broken == rule.name) == vetoed, broken
