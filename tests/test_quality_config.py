"""Quality rules in customer360.yml are checked when the configuration loads: a rule naming a table or column the
configuration does not know, or a rule that cannot apply to its column, is a ConfigError that says where
(`sources[<source>].tables[<table>].columns[<column>]...`) and what to fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from customer360.core.config import ConfigError, load_config

BASE = """
sources:
  shop:
    connector: files
    tables:
      customers:
        path: c/*.csv
        format: csv
        primary_key: customer_id
        columns: [customer_id, email]
      orders:
        path: o/*.csv
        format: csv
        primary_key: order_id
        columns:
          order_id:
{rules}
  crm:
    connector: files
    tables:
      people: {{path: p/*.csv, format: csv}}
"""


def load(tmp_path: Path, rules: str) -> object:
    text = BASE.format(rules=textwrap.indent(textwrap.dedent(rules).strip("\n"), " " * 10))
    path = tmp_path / "customer360.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_rules_that_name_known_tables_and_columns_load(tmp_path):
    config = load(
        tmp_path,
        """
        customer_id: {required: true, references: customers.customer_id}
        person: {references: crm.people.anything}   # crm.people declares no columns: any column may be named
        line: {unique: [order_id]}
        total: {type: number, min: 0, max: 100000, on_fail: {max: warn}}
        born: {type: date, formats: ["%d.%m.%Y"], min: 1900-01-01, not_in_future: true}
        """,
    )
    rules = config.source("shop").table("orders").columns  # type: ignore[attr-defined]
    assert rules["born"].bound("min") == "1900-01-01T00:00:00+00:00"
    assert rules["total"].action("max") == "warn" and rules["total"].action("min") == "quarantine"


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            "customer_id: {references: clients.customer_id}",
            r"sources\[shop\]\.tables\[orders\]\.columns\[customer_id\]\.references: source 'shop' has no table "
            r"'clients'",
        ),
        (
            "customer_id: {references: customers.kunden_nr}",
            r"columns\[customer_id\]\.references: 'shop\.customers' has no column 'kunden_nr' \(it has "
            r"\['customer_id', 'email'\]\)",
        ),
        ("person: {references: erp.people.id}", r"columns\[person\]\.references: no source 'erp'"),
        ("person: {references: id}", r"columns\[person\]\.references: 'id' is not table\.column"),
        ("line: {unique: [order]}", r"columns\[line\]\.unique: 'order' is not another of the table's columns"),
        ("total: {type: number, on_fail: {max: warn}}", r"columns\[total\]\.on_fail: names rule\(s\) \['max'\]"),
        ("total: {type: number, on_fail: {maximum: warn}}", r"columns\[total\]\.on_fail: unknown rule\(s\)"),
        ("total: {min: 0}", r"columns\[total\]\.min: needs type: integer, number, date or timestamp"),
        ("total: {type: integer, min: low}", r"columns\[total\]\.min: 'low' is not a number"),
        ("born: {type: date, max: yesterday}", r"columns\[born\]\.max: 'yesterday' is not an ISO date"),
        ("total: {type: number, min: 10, max: 1}", r"columns\[total\]\.min: 10\.0 is greater than max 1\.0"),
        ("born: {formats: ['%d.%m.%Y']}", r"columns\[born\]\.formats: needs type: date or type: timestamp"),
        ("born: {not_in_future: true}", r"columns\[born\]\.not_in_future: needs type: date or type: timestamp"),
        ("code: {pattern: '^[A-Z'}", r"columns\[code\]\.pattern: '\^\[A-Z' is not a regular expression"),
        ("flag: {type: boolean, allowed: [1]}", r"columns\[flag\]\.allowed: \[1\] are not true/false"),
        ("kind: {allowed: []}", r"columns\[kind\]\.allowed: list at least one value"),
    ],
    ids=[
        "unknown-table",
        "unknown-column",
        "unknown-source",
        "not-table-column",
        "unique-unknown-column",
        "on-fail-unset-rule",
        "on-fail-unknown-rule",
        "min-without-type",
        "min-not-a-number",
        "max-not-a-date",
        "min-above-max",
        "formats-without-date",
        "future-without-date",
        "bad-pattern",
        "allowed-boolean",
        "allowed-empty",
    ],
)
def test_a_rule_the_configuration_cannot_honour_is_a_config_error(tmp_path, rules, expected):
    with pytest.raises(ConfigError, match=expected) as error:
        load(tmp_path, rules)
    assert str(tmp_path / "customer360.yml") in str(error.value)


def test_table_level_rules_name_known_columns(tmp_path):
    with pytest.raises(ConfigError, match=r"tables\[orders\]\.freshness\.column: 'changed' is not among its columns"):
        _load_with_table_keys(tmp_path, "freshness: {column: changed}")
    with pytest.raises(ConfigError, match=r"min_rows \(5\) is greater than max_rows \(2\)"):
        _load_with_table_keys(tmp_path, "volume: {min_rows: 5, max_rows: 2}")
    with pytest.raises(ConfigError, match=r"tables\[orders\]\.suite: .*suites/nope\.py not found"):
        _load_with_table_keys(tmp_path, "suite: suites/nope.py")


def _load_with_table_keys(tmp_path: Path, line: str) -> object:
    text = BASE.format(rules=" " * 10 + "total:").replace(
        "        primary_key: order_id\n", f"        primary_key: order_id\n        {line}\n"
    )
    path = tmp_path / "customer360.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)
