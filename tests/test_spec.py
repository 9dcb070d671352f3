"""The Splink model spec is data: it loads into Splink settings, can extend another spec, and bad entries are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from entity_resolution.spec import SpecError, load_spec

REPO = Path(__file__).resolve().parents[1]


def test_customer_spec_builds_splink_settings() -> None:
    spec = load_spec(REPO / "entity_resolution/specs/customer.yml")
    assert spec.key.startswith("customer-v")
    names = [comparison.create_comparison_dict("duckdb")["output_column_name"] for comparison in spec.comparisons()]
    assert names == ["first_name", "last_name", "date_of_birth", "email", "phone", "references", "address"]
    assert spec.tf_columns() == ["first_name_canonical", "last_name_loose", "email_std", "phone_e164"]
    assert [rule.name for rule in spec.cannot_link_rules] == ["different_first_names", "different_birth_dates"]
    assert [rule.name for rule in spec.link_requirements] == [
        "corroborated_beyond_name",
        "fitting_first_name_needs_personal_evidence",
        "two_established_names_need_personal_evidence",
        "missing_first_name_needs_personal_evidence",
    ]
    assert spec.m_limits()["first_name"] == {"different first name": 0.02}
    settings = spec.settings().get_settings("duckdb").as_dict()
    assert settings["unique_id_column_name"] == "record_key"
    assert len(settings["blocking_rules_to_generate_predictions"]) == len(
        spec.raw["blocking_rules_to_generate_predictions"]
    )


def test_a_spec_extends_another_and_overrides_by_name() -> None:
    spec = load_spec(REPO / "examples/febrl4/febrl4.yml")
    base = load_spec(REPO / "entity_resolution/specs/customer.yml")
    assert spec.key == "febrl4-v1"
    assert spec.cannot_link_rules == []  # replaced
    assert spec.link_requirements == base.link_requirements  # inherited
    references = next(c for c in spec.raw["comparisons"] if c["output_column_name"] == "references")
    assert len(references["levels"]) == 4  # the override replaced the base comparison in place
    assert [c["output_column_name"] for c in spec.raw["comparisons"]] == [
        c["output_column_name"] for c in base.raw["comparisons"]
    ]


def test_unknown_level_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        f"extends: {REPO / 'entity_resolution/specs/customer.yml'}\nname: bad\nversion: 1\n"
        "comparisons:\n  - output_column_name: phone\n    levels:\n      - ExactMatchLvl: {col_name: phone_e164}\n"
    )
    with pytest.raises(SpecError, match=r"comparison 'phone' level 1: no Splink level 'ExactMatchLvl'"):
        load_spec(path).comparisons()


def test_missing_spec_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="model spec not found"):
        load_spec(tmp_path / "nowhere.yml")


def test_blocking_partners_are_exactly_the_records_a_blocking_rule_pairs_with_a_changed_one(tmp_path: Path) -> None:
    import duckdb

    spec_file = tmp_path / "people.yml"
    spec_file.write_text(
        """
name: people
version: 1
columns: [record_key, first, last, email, refs]
comparisons: []
blocking_rules_to_generate_predictions:
  - [email]
  - [first, last]
  - sql: l.first = r.last and l.last = r.first
  - { explode: refs }
""",
        encoding="utf-8",
    )
    spec = load_spec(spec_file)
    con = duckdb.connect()
    con.execute(
        """
        create table records as select * from (values
            ('new', 'Anna', 'Berg', 'a@x.de', ['K-1']),
            ('same_email', 'Hanna', 'Wolf', 'a@x.de', []),
            ('same_name', 'Anna', 'Berg', null, null),
            ('swapped', 'Berg', 'Anna', null, null),
            ('shared_ref', 'Zoe', 'Kurz', null, ['K-9', 'K-1']),
            ('stranger', 'Anna', 'Kurz', 'b@x.de', ['K-2']),
            ('null_email', 'Paul', 'Roth', null, null)
        ) as t(record_key, first, last, email, refs)
        """
    )
    con.execute("create table changed as select * from records where record_key = 'new'")
    partners = {
        row[0]
        for row in con.execute(
            f"select record_key from ({spec.blocking_partners_sql('changed', 'records')})"
        ).fetchall()
    }
    assert partners == {"same_email", "same_name", "swapped", "shared_ref"}
