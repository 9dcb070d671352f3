"""Releasing quarantined rows and rejected batches: re-checked first, released only when they pass (or
forced); and the `c360 quarantine` commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from support.quality import (
    CUSTOMERS_HEADER,
    ORDERS_HEADER,
    T0,
    batch_status,
    contact,
    contacts_csv,
    customer,
    deliver,
    gate,
    held_rows,
    order,
    quality_sources,
    quarantined,
    query,
    valid_rows,
)
from typer.testing import CliRunner

from expectations.release import release

LATER = T0 + timedelta(days=1)


def orders_with_an_unknown_customer(config, root):
    deliver(root, "silos/customers/k1.csv", "\n".join([CUSTOMERS_HEADER, customer(1)]) + "\n")
    lines = [order(i, 1) for i in range(1, 30)] + [order(30, 2)]
    deliver(root, "silos/orders/o1.csv", "\n".join([ORDERS_HEADER, *lines]) + "\n")
    gate(config)
    (held,) = quarantined(config, "sales", "orders")
    return held


def test_a_row_that_still_fails_stays_quarantined_with_a_message(quality_setup):
    config, root = quality_setup
    held = orders_with_an_unknown_customer(config, root)

    result = release(config, "sales.orders", rule="customer_id_unknown", as_of=LATER)

    assert (result.selected, result.released, result.kept) == (1, 0, 1)
    assert result.still_failing == {"customer_id_unknown": 1}
    assert "still fail and stay in quarantine: customer_id_unknown (1)" in result.messages[0]
    assert "customer_id '2' is unknown" in result.examples[0]
    assert held_rows(config, "sales", "orders") == {(held["_c360_batch_id"], held["_c360_row_number"])}


def test_a_row_passes_once_the_source_is_corrected_and_is_released(quality_setup):
    config, root = quality_setup
    held = orders_with_an_unknown_customer(config, root)
    identity = (held["_c360_batch_id"], held["_c360_row_number"])
    assert identity not in valid_rows(config, "sales", "orders")
    deliver(root, "silos/customers/k2.csv", "\n".join([CUSTOMERS_HEADER, customer(2)]) + "\n")  # the fix arrives
    gate(config, run_id="r2", at=LATER)

    result = release(config, "sales.orders", rule="customer_id_unknown", as_of=LATER)

    assert (result.selected, result.released, result.kept) == (1, 1, 0)
    assert identity in valid_rows(config, "sales", "orders")
    assert query(config, "select count(*) from quarantine.sales__orders where _c360_released_at is not null") == [(1,)]
    again = release(config, "sales.orders", all_rows=True, as_of=LATER)
    assert again.selected == 0 and again.messages == ["nothing to release: no held rows match"]


def test_force_releases_a_row_as_it_is(quality_setup):
    config, root = quality_setup
    orders_with_an_unknown_customer(config, root)

    result = release(config, "sales.orders", all_rows=True, force=True, as_of=LATER)

    assert result.released == 1 and "released despite failing" in result.messages[0]
    assert held_rows(config, "sales", "orders") == set()


def test_rows_that_could_not_be_parsed_cannot_be_released(quality_setup):
    config, root = quality_setup
    text = contacts_csv([contact(i) for i in range(1, 30)]).replace("NL-000007;", 'NL-000007;"open', 1)
    deliver(root, "silos/contacts/c1.csv", text)
    gate(config)

    result = release(config, "marketing.contacts", rule="unclosed_quote", as_of=LATER)

    assert result.not_releasable == 1 and result.released == 0
    assert "cannot be released" in result.messages[0] and "c360 ingest --reload" in result.messages[0]


def test_a_rejected_batch_is_rechecked_and_accepted_only_when_forced(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv([contact(i) for i in range(1, 31)]))
    gate(config)
    rows = [{**contact(i), "fax": "040 1"} for i in range(31, 61)]
    rows[0]["e_mail"] = "kaputt"
    deliver(root, "silos/contacts/c2.csv", contacts_csv(rows, extra={"Fax": "fax"}))
    _, report = gate(config, run_id="r2", at=LATER)
    (rejected,) = report.rejected
    assert rejected.batch_id not in {b for b, _ in valid_rows(config, "marketing", "contacts")}

    kept = release(config, "marketing.contacts", batch=rejected.batch_id, as_of=LATER)
    assert kept.batches[0].rejected and "stays rejected" in kept.messages[0]
    assert batch_status(config, rejected.batch_id)[0] == "rejected"

    accepted = release(config, "marketing.contacts", batch=rejected.batch_id, force=True, as_of=LATER)

    assert not accepted.batches[0].rejected and "accepted (forced)" in accepted.messages[0]
    assert batch_status(config, rejected.batch_id)[0] == "loaded"
    valid_batches = {b for b, _ in valid_rows(config, "marketing", "contacts")}
    assert rejected.batch_id in valid_batches
    (held,) = quarantined(config, "marketing", "contacts")  # its bad row is quarantined like any other
    assert held["_c360_rule"] == "e_mail_format" and held["_c360_batch_id"] == rejected.batch_id
    deliver(
        root,
        "silos/contacts/c3.csv",
        contacts_csv([{**contact(i), "fax": "1"} for i in range(61, 91)], extra={"Fax": "fax"}),
    )
    _, after = gate(config, run_id="r3", at=LATER + timedelta(days=1))
    assert not after.blocked  # the accepted batch made `fax` part of the schema


def test_release_needs_a_selection_and_a_known_batch(quality_setup):
    config, root = quality_setup
    orders_with_an_unknown_customer(config, root)
    with pytest.raises(ValueError, match="say what to release"):
        release(config, "sales.orders")
    with pytest.raises(ValueError, match="is not a batch of sales.orders"):
        release(config, "sales.orders", batch="nope")
    with pytest.raises(ValueError, match="<source>.<table>"):
        release(config, "orders", all_rows=True)


# -- the CLI -------------------------------------------------------------------------------------------------


@pytest.fixture
def cli(quality_setup):
    from customer360.cli import app

    config, root = quality_setup
    settings = {"version": 1, "warehouse": {"path": "data/warehouse.duckdb", "memory_limit": "1GB", "threads": 2}}
    config.file.write_text(
        yaml.safe_dump({**settings, "data_dir": "data", "sources": quality_sources()}, allow_unicode=True),
        encoding="utf-8",
    )
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [*args, "--config", str(config.file)], catch_exceptions=False, env={"COLUMNS": "250"})

    return config, root, invoke


def test_cli_list_show_and_release(cli):
    config, root, invoke = cli
    orders_with_an_unknown_customer(config, root)

    listed = invoke("quarantine", "list")
    assert listed.exit_code == 0, listed.output
    assert "sales.orders" in listed.output and "customer_id_unknown" in listed.output
    assert "no rejected batches" in listed.output

    shown = invoke("quarantine", "show", "sales.orders", "--rule", "customer_id_unknown", "--json")
    assert shown.exit_code == 0 and "is unknown: no row of sales.customers" in shown.output

    kept = invoke("quarantine", "release", "sales.orders", "--rule", "customer_id_unknown")
    assert kept.exit_code == 3 and "still fail and stay in quarantine" in kept.output

    forced = invoke("quarantine", "release", "sales.orders", "--all", "--force")
    assert forced.exit_code == 0 and "1 of 1 held row(s) released" in forced.output

    usage = invoke("quarantine", "release", "sales.orders")
    assert usage.exit_code == 2


def test_cli_check_runs_the_gate_and_exits_4_when_blocked(cli):
    config, root, invoke = cli
    deliver(root, "silos/contacts/c1.csv", contacts_csv([contact(i) for i in range(1, 31)]))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", "")
    from customer360.ingest import ingest

    ingest(config, run_id="r2", loaded_at=LATER)

    checked = invoke("quarantine", "check")

    assert checked.exit_code == 4, checked.output
    assert "volume_collapse" in checked.output
    listed = invoke("quarantine", "list")
    assert "rejected batches" in listed.output and "c2.csv" in listed.output
