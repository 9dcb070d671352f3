"""The quality rules of `customer360.yml` (tables.<t>.columns, freshness, volume), each on a tiny delivery: good
values pass, bad rows are quarantined with the rule's name and a readable reason, `on_fail` turns a rule into a
warning or a rejection. Every run also proves that the SQL of each row-level rule selects the rows GX counts
(support.quality.gate asserts that they agree)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.configs import make_config
from support.quality import T0, batch_status, deliver, gate, quarantined

from expectations.release import release


def shop(root: Path, columns: dict[str, Any], **table: Any) -> Any:
    """One source `shop`, table `items` (JSON lines under silos/items/), primary key `id`."""
    extra = {k: table.pop(k) for k in ("time_zone",) if k in table}
    tables = {
        "items": {
            "path": "silos/items/*.jsonl",
            "format": "jsonl",
            "primary_key": "id",
            "columns": {"id": {}, **columns},
            **table,
        }
    }
    return make_config(root, {"shop": {"connector": "files", "tables": tables}}, **extra)


def jsonl(rows: list[dict[str, Any]]) -> str:
    """JSON lines. (Keep a column's values of one JSON type: ingestion stores a column mixing text and numbers as
    JSON, whose text values keep their quotes.)"""
    return "".join(json.dumps(row) + "\n" for row in rows)


def deliver_values(root: Path, values: list[Any], name: str = "d1", column: str = "v", start: int = 1) -> None:
    rows = [{"id": start + i, column: value} for i, value in enumerate(values)]
    deliver(root, f"silos/items/{name}.jsonl", jsonl(rows))


def held(config: Any) -> dict[str, list[str]]:
    """rule → reasons of the held rows (in row order)."""
    found: dict[str, list[str]] = {}
    for row in sorted(quarantined(config, "shop", "items"), key=lambda r: r["_c360_row_number"]):
        found.setdefault(row["_c360_rule"], []).append(row["_c360_reason"].split(" (row ")[0])
    return found


# -- one rule at a time: good values pass, bad ones are held with the rule and a reason --------------------------

CASES = [
    pytest.param(
        {"required": True},
        ["x", " y ", "null value"],
        {"v_missing": ["v is missing (required)"] * 4},
        [None, "", "n/a", "0"],  # in text, 0 is a placeholder too (not in numbers)
        id="required",
    ),
    pytest.param(
        {"type": "integer"},
        ["12", "0", "-3", "7", "n/a"],
        {"v_format": ["v '1.5' is not a whole number", "v 'zwölf' is not a whole number"]},
        ["1.5", "zwölf"],
        id="integer",
    ),
    pytest.param(
        {"type": "number"},
        ["49.95", "0", "-1e3", "12", "12,5", "1.234,56", "1,234.56"],
        {"v_format": ["v '1,2,3' is not a number", "v 'NaN' is not a number"]},
        ["1,2,3", "NaN"],
        id="number",
    ),
    pytest.param(
        {"type": "boolean"},
        ["true", "0", "ja", "N", "False"],
        {"v_format": ["v 'vielleicht' is not a yes/no value (true/false, 1/0, yes/no, ja/nein)"]},
        ["vielleicht"],
        id="boolean",
    ),
    pytest.param(
        {"type": "date", "formats": ["%d.%m.%Y"]},
        ["2024-01-31", "31.01.2024", "unbekannt"],
        {"v_format": ["v '31.02.2024' is not a date (YYYY-MM-DD or DD.MM.YYYY)", "v '2024-13-01' is not a date"]},
        ["31.02.2024", "2024-13-01"],
        id="date",
    ),
    pytest.param(
        {"type": "timestamp", "formats": ["%d.%m.%Y %H:%M"]},
        ["2024-01-31T10:00:00Z", "2024-01-31 10:00:00+01:00", "31.01.2024 10:00", "2024-01-31"],
        {"v_format": ["v 'gestern' is not a timestamp (ISO 8601 or DD.MM.YYYY hh:mm)"]},
        ["gestern"],
        id="timestamp",
    ),
    pytest.param(
        {"type": "email"},
        ["a@b.de", " Anna.Mueller@GMX.de ", "test@test.de", "-"],
        {"v_format": ["v 'a.b.de' is not an e-mail address (name@domain.tld)"]},
        ["a.b.de"],
        id="email",
    ),
    pytest.param(
        {"type": "phone"},
        ["0151/2345678", "+49 (0)40 123 45 67", "0049 4721 77582485", "n/a"],
        {"v_format": ["v '12 34' is not a phone number", "v '0151-ABC' is not a phone number"]},
        ["12 34", "0151-ABC"],
        id="phone",
    ),
    pytest.param(
        {"type": "json"},
        ['{"a": 1}', "[1, 2]", "3"],
        {"v_format": ["v '{a:' is not JSON"]},
        ["{a:"],
        id="json",
    ),
    pytest.param(
        {"pattern": "^K-[0-9]+$"},
        ["K-1", "K-100234", " K-7 "],
        {"v_pattern": ["v 'X-1' does not match the pattern ^K-[0-9]+$"]},
        ["X-1"],
        id="pattern",
    ),
    pytest.param(
        {"allowed": ["a", "b"]},
        ["a", "b", "n/a"],
        {"v_not_allowed": ["v 'c' is not one of a, b", "v 'A' is not one of a, b"]},
        ["c", "A"],
        id="allowed",
    ),
    pytest.param(
        {"type": "integer", "allowed": [1, 2]},
        ["1", "2", " 2"],
        {"v_not_allowed": ["v '3' is not one of 1, 2"]},
        ["3"],
        id="allowed-numbers",
    ),
    pytest.param(
        {"type": "number", "min": 0, "max": 10},
        ["0", "10", "5.5"],
        {"v_below_min": ["v '-1' is below the minimum 0"], "v_above_max": ["v '10.01' is above the maximum 10"]},
        ["-1", "10.01"],
        id="min-max",
    ),
    pytest.param(
        {"type": "date", "min": "1900-01-01", "not_in_future": True},
        ["1900-01-01", "2026-03-02"],
        {"v_below_min": ["v '1899-12-31' is before 1900-01-01"], "v_future": ["v '2031-01-01' lies in the future"]},
        ["1899-12-31", "2031-01-01"],
        id="date-range",
    ),
    pytest.param(
        {"type": "timestamp", "max": "2025-12-31T23:59:59Z"},
        ["2025-12-31T23:59:59Z", "2026-01-01T00:30:00+01:00"],
        {"v_above_max": ["v '2026-01-01T00:00:00Z' is after 2025-12-31T23:59:59+00:00"]},
        ["2026-01-01T00:00:00Z"],
        id="timestamp-max",
    ),
    pytest.param(
        {"unique": True},
        ["a", "b", "n/a", "n/a"],
        {"v_duplicate": ["v 'x' occurs 2 times in this delivery", "v ' x' occurs 2 times in this delivery"]},
        ["x", " x"],
        id="unique",
    ),
]


@pytest.mark.parametrize(("rules", "good", "expected", "bad"), CASES)
def test_a_column_rule_holds_back_bad_rows_with_its_reason(tmp_path, rules, good, expected, bad):
    config = shop(tmp_path, {"v": rules})
    deliver_values(tmp_path, [*good, *bad])

    _, report = gate(config)

    found = held(config)
    assert set(found) == set(expected), found
    for rule, reasons in expected.items():
        assert len(found[rule]) == len(reasons)
        for reason, text in zip(reasons, found[rule], strict=True):
            assert text.startswith(reason), (text, reason)
    (batch,) = report.batches
    assert batch.status == "quarantined" and batch.quarantined_rows == len(bad)
    assert batch.suite == "generic + config"


def test_good_values_alone_pass_every_rule(tmp_path):
    columns = {
        "n": {"type": "integer", "required": True, "min": 0, "max": 100, "allowed": [1, 2, 3]},
        "e": {"type": "email", "unique": True},
        "d": {"type": "date", "formats": ["%d.%m.%Y"], "not_in_future": True},
        "k": {"pattern": "^[A-Z]{2}$", "allowed": ["DE", "AT"]},
    }
    config = shop(tmp_path, columns)
    rows = [{"id": i, "n": str(1 + i % 3), "e": f"p{i}@x.de", "d": "24.12.1985", "k": "DE"} for i in range(30)]
    deliver(tmp_path, "silos/items/d1.jsonl", jsonl(rows))

    _, report = gate(config)

    assert held(config) == {} and report.batches[0].status == "passed", report.batches[0].warnings


def test_unique_within_other_columns_flags_every_copy(tmp_path):
    config = shop(tmp_path, {"order_id": {}, "line": {"unique": ["order_id"]}})
    rows = [{"id": 1, "order_id": "A", "line": "1"}, {"id": 2, "order_id": "A", "line": "2"}]
    rows += [{"id": 3, "order_id": "B", "line": "1"}, {"id": 4, "order_id": "A", "line": "1"}]
    deliver(tmp_path, "silos/items/d1.jsonl", jsonl(rows))

    gate(config)

    assert held(config) == {"line_duplicate": ["line '1' occurs 2 times for the same order_id in this delivery"] * 2}
    assert {r["_c360_row_number"] for r in quarantined(config, "shop", "items")} == {1, 4}


def test_naive_times_are_read_in_the_projects_time_zone(tmp_path):
    rules = {"type": "timestamp", "max": "2026-01-01T00:00:00Z"}
    config = shop(tmp_path, {"v": rules}, time_zone="Europe/Berlin")
    deliver_values(tmp_path, ["2026-01-01 00:30", "2026-01-01T00:30:00Z"])  # 23:30 UTC the day before; 00:30 UTC

    gate(config)

    assert held(config) == {"v_above_max": ["v '2026-01-01T00:30:00Z' is after 2026-01-01"]}


# -- on_fail: warn, block, per rule ----------------------------------------------------------------------------


def test_on_fail_warn_reports_and_keeps_the_rows(tmp_path):
    config = shop(tmp_path, {"v": {"type": "email", "on_fail": "warn"}})
    deliver_values(tmp_path, ["a@b.de", "kaputt", "b@c.de"])

    _, report = gate(config)

    (batch,) = report.batches
    assert held(config) == {} and batch.status == "passed"
    assert any(w.startswith("v_format: v … is not an e-mail address") and "1 of 3 rows" in w for w in batch.warnings)


def test_on_fail_block_rejects_the_delivery_for_one_bad_row(tmp_path):
    config = shop(tmp_path, {"v": {"type": "number", "on_fail": "block"}})
    deliver_values(tmp_path, [str(i) for i in range(40)] + ["kaputt"])

    _, report = gate(config)

    (batch,) = report.rejected
    assert any(
        r.startswith("v_format: v … is not a number: 1 of 41 rows") and r.endswith("e.g. 'kaputt'")
        for r in batch.reasons
    ), batch.reasons
    assert held(config) == {} and batch_status(config, batch.batch_id)[0] == "rejected"


def test_on_fail_per_rule(tmp_path):
    rules = {"type": "number", "min": 0, "max": 100000, "on_fail": {"max": "warn"}}
    config = shop(tmp_path, {"total": rules})
    deliver_values(tmp_path, ["10", "-1", "250000"], column="total")

    _, report = gate(config)

    assert held(config) == {"total_below_min": ["total '-1' is below the minimum 0"]}
    assert any(w.startswith("total_above_max: total … is above the maximum 100000") for w in report.batches[0].warnings)


def test_a_required_column_must_be_delivered(tmp_path):
    config = shop(tmp_path, {"v": {"required": True}, "w": {"required": True, "on_fail": "warn"}})
    deliver(tmp_path, "silos/items/d1.jsonl", jsonl([{"id": i, "x": "1"} for i in range(5)]))

    _, report = gate(config)

    (batch,) = report.rejected
    assert any(r == "v_not_delivered: required column v is missing from the delivery" for r in batch.reasons)
    assert any(w.startswith("w_not_delivered: required column w is missing") for w in batch.warnings)


# -- references --------------------------------------------------------------------------------------------------


def test_references_hold_orphans_until_what_they_point_to_arrives(tmp_path):
    tables = {
        "customers": {"path": "silos/customers/*.jsonl", "format": "jsonl", "primary_key": "customer_id"},
        "orders": {
            "path": "silos/orders/*.jsonl",
            "format": "jsonl",
            "primary_key": "order_id",
            "columns": {"order_id": {}, "customer_id": {"references": "customers.customer_id"}},
        },
    }
    crm = {"people": {"path": "silos/people/*.jsonl", "format": "jsonl", "primary_key": "person_id"}}
    tickets = {
        "path": "silos/tickets/*.jsonl",
        "format": "jsonl",
        "primary_key": "ticket_id",
        "columns": {"ticket_id": {}, "person": {"references": "crm.people.person_id"}},
    }
    config = make_config(
        tmp_path,
        {
            "shop": {"connector": "files", "tables": tables},
            "crm": {"connector": "files", "tables": crm},
            "helpdesk": {"connector": "files", "tables": {"tickets": tickets}},
        },
    )
    deliver(tmp_path, "silos/customers/c1.jsonl", jsonl([{"customer_id": "1"}, {"customer_id": "2"}]))
    orders = [{"order_id": 10, "customer_id": "1"}, {"order_id": 11, "customer_id": "3"}, {"order_id": 12}]
    deliver(tmp_path, "silos/orders/o1.jsonl", jsonl(orders))
    deliver(tmp_path, "silos/tickets/t1.jsonl", jsonl([{"ticket_id": 1, "person": "P1"}]))  # crm delivered nothing

    gate(config)

    (orphan,) = quarantined(config, "shop", "orders")
    assert orphan["_c360_rule"] == "customer_id_unknown"
    assert orphan["_c360_reason"].startswith(
        "customer_id '3' is unknown: no row of shop.customers has it as customer_id (in this or an earlier delivery)"
    )
    (ticket,) = quarantined(config, "helpdesk", "tickets")
    assert (
        ticket["_c360_rule"] == "person_unknown"
        and "no row of crm.people has it as person_id" in (ticket["_c360_reason"])
    )

    deliver(tmp_path, "silos/customers/c2.jsonl", jsonl([{"customer_id": "3"}]))
    gate(config, run_id="r2", at=T0 + timedelta(days=1))
    released = release(config, "shop.orders", rule="customer_id_unknown", as_of=T0 + timedelta(days=1))
    assert (released.selected, released.released) == (1, 1)


# -- freshness and volume ----------------------------------------------------------------------------------------


def test_freshness_warns_when_the_newest_value_is_too_old(tmp_path):
    freshness = {"column": "changed", "max_age_days": 7, "formats": ["%d.%m.%Y"]}
    config = shop(tmp_path, {"changed": {}}, freshness=freshness)
    deliver_values(tmp_path, ["01.02.2026", "10.02.2026"], column="changed")

    _, report = gate(config)

    (warning,) = [w for w in report.batches[0].warnings if w.startswith("freshness")]
    assert warning.startswith("freshness: the newest changed is older than 7 days (before 2026-02-22)")
    deliver_values(tmp_path, ["28.02.2026"], name="d2", column="changed", start=10)
    _, fresh = gate(config, run_id="r2", at=T0 + timedelta(hours=1))
    assert not [w for w in fresh.batches[0].warnings if w.startswith("freshness")]


def test_volume_bounds_block_from_the_first_delivery(tmp_path):
    config = shop(tmp_path, {"v": {}}, volume={"min_rows": 3, "max_rows": 5})
    deliver_values(tmp_path, ["a", "b"])
    _, few = gate(config)
    assert any(r.startswith("volume_min_rows: the delivery has fewer than 3 rows") for r in few.rejected[0].reasons)

    deliver_values(tmp_path, list("abcdef"), name="d2", start=10)
    _, many = gate(config, run_id="r2", at=T0 + timedelta(days=1))
    assert any(r.startswith("volume_max_rows: the delivery has more than 5 rows") for r in many.rejected[0].reasons)


def test_volume_jump_ratio_per_table(tmp_path):
    config = shop(tmp_path, {"v": {}}, volume={"min_rows": 0, "max_jump_ratio": 2})
    deliver_values(tmp_path, list("abcdefghij"))
    gate(config)
    deliver_values(tmp_path, ["x"] * 25, name="d2", start=100)

    _, report = gate(config, run_id="r2", at=T0 + timedelta(days=1), volume_jump_min_rows=10)

    assert any(
        r.startswith("volume_jump: the delivery has more than 20 rows, over 2×") for r in report.rejected[0].reasons
    )


def test_a_rule_on_a_column_the_delivery_lacks_compiles_and_passes(tmp_path):
    config = shop(tmp_path, {"v": {"type": "date"}, "w": {"type": "email", "references": "items.id"}})
    deliver(tmp_path, "silos/items/d1.jsonl", jsonl([{"id": i, "v": "2024-01-01"} for i in range(5)]))  # no `w`

    _, report = gate(config)

    assert held(config) == {} and report.batches[0].status == "passed"
