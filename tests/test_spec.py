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
    assert [rule.name for rule in spec.link_requirements] == ["corroborated_beyond_name"]
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
