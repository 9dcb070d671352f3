"""customer360.yml: loading, environment expansion, and errors that name the file, the key and what is expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer360.core.config import ConfigError, expand_env, load_config
from customer360.transform import dbt_vars

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "customer360.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_configuration_loads_with_paths_beside_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("C360_DATA_DIR", raising=False)
    demo = REPO / "examples" / "kaufhaus-nord"
    config = load_config(demo / "customer360.yml")
    assert [source.name for source in config.sources] == ["marketing", "sales", "service"]
    assert config.warehouse_path == demo / "data/warehouse/customer360.duckdb"
    assert config.resolve_path(config.rules.survivorship) == demo / "rules" / "survivorship.yml"
    assert config.source("sales").table("orders").incremental.cursor == "updated_at"
    assert config.source("service").table("tickets").pagination.page_size == 500
    assert [system for system, _, _ in config.identity_mappings()] == ["marketing", "sales", "service"]


def test_environment_variables_and_defaults_expand_in_values_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALES_DB", "/srv/shop.sqlite")
    path = write(
        tmp_path,
        """
# ${NOT_SET} in a comment is left alone
warehouse: { path: "${WAREHOUSE:-w.duckdb}" }
sources:
  sales:
    connector: sqlite
    path: ${SALES_DB}
    tables: { customers: { primary_key: id } }
""",
    )
    config = load_config(path)
    assert config.warehouse_path == tmp_path / "w.duckdb"
    assert config.source("sales").path == "/srv/shop.sqlite"
    assert expand_env("${A:-x}-${B}", {"B": "y"}) == "x-y"


def test_an_unset_variable_without_default_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path, "sources:\n  s:\n    connector: postgres\n    dsn: ${SECRET_DSN_NOT_SET}\n    tables: {t: {}}\n"
    )
    with pytest.raises(ConfigError, match=r"customer360.yml: environment variable SECRET_DSN_NOT_SET is not set"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sources:\n  sales:\n    connector: sqlite\n    path: x.sqlite\n    tables:\n      customers: {incremntal: {cursor: x}}\n",
            r"sources\[sales\]\.tables\[customers\]\.incremntal: unknown key",
        ),
        (
            "sources:\n  sales:\n    connector: sqlite\n    tables: {customers: {}}\n",
            r"connector 'sqlite' needs 'path'",
        ),
        ("sources:\n  x:\n    connector: ftp\n    tables: {t: {}}\n", r"sources\[x\]\.connector: Input should be"),
        (
            "sources:\n  files:\n    connector: files\n    tables: {t: {}}\n",
            r"table 't': the files connector needs 'path' and 'format'",
        ),
        (
            "sources:\n  crm:\n    connector: sqlite\n    path: c.sqlite\n    tables: {people: {}}\n"
            "    identity:\n      - {table: persons, source_record_id: id, full_name: name}\n",
            r"identity mapping names table 'persons', which is not in tables \['people'\]",
        ),
        (
            "sources:\n  crm:\n    connector: sqlite\n    path: c.sqlite\n    tables: {people: {}}\n"
            "    identity:\n      - {table: people, source_record_id: id, email: mail}\n",
            r"map at least one of first_name, last_name or full_name",
        ),
        ("warehouse: {path: a}\n", r"sources: required key is missing"),
        ("- just\n- a list\n", r"expected a mapping at the top level"),
        ("sources: [\n", r"cannot read it as YAML"),
    ],
)
def test_errors_name_the_key_and_what_is_expected(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as error:
        load_config(write(tmp_path, text))
    assert str(tmp_path / "customer360.yml") in str(error.value)


def test_a_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found. Pass --config PATH, set C360_CONFIG"):
        load_config(tmp_path / "nope.yml")


def test_identity_mappings_reach_dbt_as_data(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
sources:
  crm:
    connector: files
    tables: { people: { path: p/*.csv, format: csv }, companies: { path: c/*.csv, format: csv } }
    identity:
      - { table: people, source_record_id: id, full_name: "split_part(name, ',', 2)", date_formats: ["%d.%m.%Y"] }
      - { table: companies, source_system: crm_contacts, source_record_id: contact_no, last_name: contact }
""",
    )
    mappings = dbt_vars(load_config(path))["c360_identity_mappings"]
    assert [(m["source_system"], m["schema"], m["table"]) for m in mappings] == [
        ("crm", "raw_crm", "people"),
        ("crm_contacts", "raw_crm", "companies"),
    ]
    assert mappings[0]["fields"]["full_name"] == "split_part(name, ',', 2)"
    assert mappings[0]["fields"]["email"] is None and mappings[0]["date_formats"] == ["%d.%m.%Y"]


def test_two_mappings_of_one_source_need_distinct_system_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
sources:
  crm:
    connector: files
    tables: { a: { path: a.csv, format: csv }, b: { path: b.csv, format: csv } }
    identity:
      - { table: a, source_record_id: id, full_name: n }
      - { table: b, source_record_id: id, full_name: n }
""",
    )
    with pytest.raises(ConfigError, match="identity source_system names must be unique"):
        load_config(path)
