"""The quality gate on small inline deliveries: a catalogue of broken inputs, each ending in a clear error, a
quarantine row with its rule and reason, or a rejected batch; no row lost; idempotent and incremental."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from support.configs import make_config
from support.quality import (
    CUSTOMERS_HEADER,
    ORDERS_HEADER,
    T0,
    batch_status,
    contact,
    contacts_csv,
    customer,
    deliver,
    demo_rules,
    gate,
    held_rows,
    order,
    quarantined,
    query,
    raw_rows,
    rejected_rows,
    ticket,
    valid_rows,
)

from customer360.core.errors import EXIT_BLOCKED, EXIT_OK
from expectations.runner import validate
from expectations.settings import QualitySettings

LATER = T0 + timedelta(days=1)


def contacts(n: int, start: int = 1, **overrides) -> list[dict]:
    return [contact(i, **overrides) for i in range(start, start + n)]


def one(rows: list[dict], rule: str) -> dict:
    found = [r for r in rows if r["_c360_rule"] == rule]
    assert len(found) == 1, (
        f"expected one row held by {rule}, got {[(r['_c360_rule'], r['_c360_reason']) for r in rows]}"
    )
    return found[0]


# -- clean data ----------------------------------------------------------------------------------------------


def test_a_clean_delivery_passes_and_every_batch_is_marked_validated(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    deliver(root, "silos/customers/k1.csv", "\n".join([CUSTOMERS_HEADER, customer(1), customer(2)]) + "\n")
    deliver(root, "silos/orders/o1.csv", "\n".join([ORDERS_HEADER, order(1, 1), order(2, 2)]) + "\n")

    _, report = gate(config)

    assert not report.blocked and report.exit_code == EXIT_OK
    tables = report.summary()["tables"]
    assert tables["marketing.contacts"] == {
        **tables["marketing.contacts"],
        "checked": 30,
        "passed": 30,
        "quarantined": 0,
    }
    assert tables["sales.orders"]["passed"] == 2
    assert query(config, "select count(*) from meta.batches where validated_at is null") == [(0,)]
    assert (config.reports_dir / "quality" / "docs" / "index.html").is_file()
    assert (config.reports_dir / "quality" / "runs" / "r1.json").is_file()


def test_junk_that_is_well_formed_and_placeholders_are_not_quarantined(quality_setup):
    config, root = quality_setup
    rows = contacts(30)
    rows[0].update(e_mail="test@test.de", telefon="n/a", plz="unbekannt")
    rows[1].update(e_mail=" Anna.Mueller@GMX.de ", telefon="-", geburtsdatum="01.01.1900")
    rows[2].update(plz="1020", telefon="+49 (0)40 123 45 67")  # Vienna; a German landline with (0)
    rows[3].update(telefon="0049 4721 77582485")  # 14 digits after the international prefix
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    gate(config)

    assert quarantined(config, "marketing", "contacts") == []


# -- the catalogue of broken inputs --------------------------------------------------------------------------


def test_malformed_csv_line_is_quarantined_at_ingestion_with_its_line(quality_setup):
    config, root = quality_setup
    text = contacts_csv(contacts(30)).replace("NL-000007;", 'NL-000007;"unterminated', 1)
    deliver(root, "silos/contacts/c1.csv", text)

    loaded, report = gate(config)

    held = quarantined(config, "marketing", "contacts", stage="ingest")
    assert [row["_c360_rule"] for row in held] == ["unclosed_quote"]  # that record alone: the rest loads
    assert "never closed" in held[0]["_c360_reason"] and "line 8 " in held[0]["_c360_reason"]
    assert not report.blocked
    assert report.batches[0].ingest_rejected == len(held)


def test_windows_1252_file_is_read_as_windows_1252(quality_setup):
    config, root = quality_setup
    deliver(
        root,
        "silos/contacts/c1.csv",
        contacts_csv(contacts(25, nachname="Größer", ort="Düsseldorf")),
        "cp1252",
    )

    _, report = gate(config)

    assert not report.blocked and quarantined(config, "marketing", "contacts", stage=None) == []
    assert query(config, "select distinct nachname, ort from raw_marketing.contacts") == [("Größer", "Düsseldorf")]


def test_a_file_in_an_encoding_other_than_the_declared_one_is_a_clear_error(tmp_path):
    config = make_config(
        tmp_path,
        {
            "marketing": {
                "connector": "files",
                "tables": {
                    "contacts": {
                        "path": "silos/contacts/*.csv",
                        "format": "csv",
                        "csv": {"delimiter": ";", "encoding": "utf-8"},
                        "primary_key": "kontakt_id",
                    }
                },
            }
        },
    )
    deliver(tmp_path, "silos/contacts/c1.csv", contacts_csv(contacts(3, nachname="Weiß")), "cp1252")

    loaded, report = gate(config)

    assert loaded.exit_code != EXIT_OK
    assert "utf-8" in " ".join(loaded.result("marketing", "contacts").errors).lower()
    assert report.batches == []  # nothing was loaded, so there is nothing to validate


def test_missing_column_rejects_the_batch_and_names_the_column(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv(contacts(30, start=31), drop=("e_mail",)))

    _, report = gate(config, run_id="r2", at=LATER)

    assert report.blocked and report.exit_code == EXIT_BLOCKED
    (batch,) = report.rejected
    assert any("e_mail" in reason and "missing" in reason for reason in batch.reasons), batch.reasons
    assert batch_status(config, batch.batch_id)[0] == "rejected"
    assert "e_mail" in report.message() and "c360 quarantine" in report.message()


def test_a_sparse_column_may_be_empty_in_a_delivery(quality_setup):
    config, root = quality_setup
    first = contacts(100)
    for row in first[::10]:
        row["abgemeldet_am"] = "01.01.2026 10:00"  # 10 % unsubscribed
    deliver(root, "silos/contacts/c1.csv", contacts_csv(first))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv(contacts(300, start=101)))  # new subscribers only

    _, report = gate(config, run_id="r2", at=LATER)

    assert not report.blocked, report.message()


def test_a_usually_filled_column_left_empty_under_its_header_is_delivered(quality_setup):
    """New tickets have no solved_at yet: a column the file's header has is delivered, however empty and however
    often earlier deliveries filled it (issue 15); only a column the header lacks is missing (the test above)."""
    config, root = quality_setup
    first = contacts(100)
    for row in first[10:]:
        row["abgemeldet_am"] = "01.01.2026 10:00"  # 90 % filled so far
    deliver(root, "silos/contacts/c1.csv", contacts_csv(first))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv(contacts(30, start=101)))  # header has it, no value

    _, report = gate(config, run_id="r2", at=LATER)

    assert not report.blocked, report.message()
    assert query(config, "select delivered_columns like '%abgemeldet_am%' from meta.batches order by loaded_at") == [
        (True,),
        (True,),
    ]


def test_a_first_delivery_without_a_required_column_is_rejected(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(5), drop=("kontakt_id",)))

    _, report = gate(config)

    (batch,) = report.rejected
    assert any("required column kontakt_id is missing" in reason for reason in batch.reasons), batch.reasons


def test_extra_column_rejects_the_batch_as_a_schema_change(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    gate(config)
    rows = [{**row, "fax": "040 99999"} for row in contacts(30, start=31)]
    deliver(root, "silos/contacts/c2.csv", contacts_csv(rows, extra={"Fax": "fax"}))

    _, report = gate(config, run_id="r2", at=LATER)

    (batch,) = report.rejected
    assert any("new column(s) fax" in reason for reason in batch.reasons), batch.reasons


def test_new_columns_are_accepted_when_allowed(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    gate(config)
    rows = [{**row, "fax": "040 99999"} for row in contacts(30, start=31)]
    deliver(root, "silos/contacts/c2.csv", contacts_csv(rows, extra={"Fax": "fax"}))

    _, report = gate(config, run_id="r2", at=LATER, allow_new_columns=True)

    assert not report.blocked
    assert any("new columns in the delivery: fax" in w for w in report.batches[0].warnings)


@pytest.mark.parametrize("content", ["", contacts_csv([])], ids=["zero-bytes", "header-only"])
def test_a_suddenly_empty_file_rejects_the_batch_as_a_volume_collapse(quality_setup, content):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", content)

    _, report = gate(config, run_id="r2", at=LATER)

    (batch,) = report.rejected
    assert batch.rows == 0
    assert any(r.startswith("volume_collapse") and "no rows" in r for r in batch.reasons), batch.reasons


def test_an_empty_file_of_a_table_that_gets_a_handful_of_rows_is_only_a_warning(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(3)))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv([]))

    _, report = gate(config, run_id="r2", at=LATER)

    assert not report.blocked and not report.rejected
    (batch,) = report.batches
    assert any("no rows; recent deliveries had about 3, too few" in w for w in batch.warnings), batch.warnings

    deliver(root, "silos/contacts/c3.csv", contacts_csv([]))
    _, report = gate(config, run_id="r3", at=LATER, volume_collapse_min_rows=3)
    (batch,) = report.rejected
    assert any(r.startswith("volume_collapse") for r in batch.reasons), batch.reasons


def test_a_tenfold_jump_in_volume_rejects_the_batch(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(10)))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv(contacts(150, start=11)))

    _, report = gate(config, run_id="r2", at=LATER, volume_jump_min_rows=50)

    (batch,) = report.rejected
    assert any(r.startswith("volume_jump") and "10×" in r for r in batch.reasons), batch.reasons


def test_duplicate_ids_quarantine_every_copy_with_the_count(quality_setup):
    config, root = quality_setup
    rows = contacts(30)
    rows[5]["kontakt_id"] = rows[4]["kontakt_id"]
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    _, report = gate(config)

    held = quarantined(config, "marketing", "contacts")
    assert {r["_c360_rule"] for r in held} == {"kontakt_id_duplicate"} and len(held) == 2
    assert "kontakt_id 'NL-000005' occurs 2 times in this delivery" in held[0]["_c360_reason"]
    assert report.summary()["tables"]["marketing.contacts"]["quarantined"] == 2


def test_invalid_emails_are_quarantined_with_the_value(quality_setup):
    config, root = quality_setup
    rows = contacts(30)
    rows[3]["e_mail"] = "anna.mueller.gmx.de"
    rows[4]["e_mail"] = "anna@mueller@gmx.de"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    gate(config)

    held = quarantined(config, "marketing", "contacts")
    assert [r["_c360_rule"] for r in held] == ["e_mail_format", "e_mail_format"]
    assert held[0]["_c360_reason"].startswith("e_mail 'anna.mueller.gmx.de' is not an e-mail address")
    assert "(row 5 of " in held[0]["_c360_reason"]  # line 5: header + 4th record
    assert json.loads(held[0]["_c360_record"])["e_mail"] == "anna.mueller.gmx.de"


def test_implausible_phone_numbers_are_quarantined(quality_setup):
    config, root = quality_setup
    rows = contacts(30)
    rows[0]["telefon"] = "0151/23x4567"
    rows[1]["telefon"] = "12 34"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    gate(config)

    held = quarantined(config, "marketing", "contacts")
    assert {r["_c360_reason"].split(" is not")[0] for r in held} == {"telefon '0151/23x4567'", "telefon '12 34'"}
    assert all(r["_c360_rule"] == "telefon_format" for r in held)
    assert "is not a phone number (6 to 15 digits; only digits, spaces and + ( ) / . -)" in held[0]["_c360_reason"]


def test_future_birth_dates_are_quarantined_and_unparseable_ones_too(quality_setup):
    config, root = quality_setup
    rows = contacts(30)
    rows[0]["geburtsdatum"] = "24.12.2031"
    rows[1]["geburtsdatum"] = "31.02.1985"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    gate(config)

    held = quarantined(config, "marketing", "contacts")
    future = one(held, "geburtsdatum_future")
    assert future["_c360_reason"].startswith("geburtsdatum '24.12.2031' lies in the future")
    assert one(held, "geburtsdatum_format")["_c360_reason"].startswith(
        "geburtsdatum '31.02.1985' is not a date (YYYY-MM-DD or DD.MM.YYYY)"
    )


def test_negative_amounts_and_non_numbers_are_quarantined(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/customers/k1.csv", "\n".join([CUSTOMERS_HEADER, customer(1)]) + "\n")
    lines = [order(i, 1) for i in range(1, 30)] + [
        order(30, 1, total_amount="-12.50"),
        order(31, 1, total_amount="12.5x"),
    ]
    deliver(root, "silos/orders/o1.csv", "\n".join([ORDERS_HEADER, *lines]) + "\n")

    gate(config)

    held = quarantined(config, "sales", "orders")
    assert one(held, "total_amount_below_min")["_c360_reason"].startswith(
        "total_amount '-12.50' is below the minimum 0"
    )
    assert one(held, "total_amount_format")["_c360_reason"].startswith("total_amount '12.5x' is not a number")


def test_orders_pointing_to_unknown_customers_are_quarantined(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/customers/k1.csv", "\n".join([CUSTOMERS_HEADER, customer(1), customer(2)]) + "\n")
    lines = [order(i, 1 + i % 2) for i in range(1, 30)] + [order(30, 999)]
    deliver(root, "silos/orders/o1.csv", "\n".join([ORDERS_HEADER, *lines]) + "\n")

    gate(config)

    (held,) = quarantined(config, "sales", "orders")
    assert held["_c360_rule"] == "customer_id_unknown"
    assert held["_c360_reason"].startswith("customer_id '999' is unknown: no row of sales.customers has it")


def test_a_json_page_with_nulls_where_objects_were_expected(tmp_path, fake_api):
    fake_api.collections["tickets"] = [ticket(i) for i in range(1, 6)]
    fake_api.pages["tickets"] = {2: {"tickets": [None, ticket(7, requester=None), "x"]}}
    tickets = {
        "endpoint": "/tickets",
        "records_field": "tickets",
        "primary_key": "id",
        "pagination": {"type": "next_link", "page_size": 3},
        **demo_rules("service", "tickets"),
    }
    config = make_config(
        tmp_path,
        {
            "service": {
                "connector": "rest",
                "base_url": fake_api.base_url,
                "token": fake_api.token,
                "retries": {"max_attempts": 2, "backoff_seconds": 0.01},
                "tables": {"tickets": tickets},
            }
        },
    )

    _, report = gate(config)

    at_ingest = quarantined(config, "service", "tickets", stage="ingest")
    assert {r["_c360_rule"] for r in at_ingest} == {"not_an_object"}
    assert any("is null, not an object" in r["_c360_reason"] for r in at_ingest)
    requester = one(quarantined(config, "service", "tickets"), "requester_missing")
    assert "requester is missing" in requester["_c360_reason"]
    assert json.loads(requester["_c360_record"])["id"] == "7"
    assert not report.blocked


def test_too_many_bad_rows_reject_the_whole_batch(quality_setup):
    config, root = quality_setup
    rows = contacts(40)
    for row in rows[:10]:
        row["e_mail"] = "kaputt"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    _, report = gate(config, max_bad_share=0.1, min_bad_rows=5)

    (batch,) = report.rejected
    assert any(
        r.startswith("e_mail_format: 10 of 40 rows (25.0%) fail (e_mail … is not an e-mail address")
        for r in batch.reasons
    ), batch.reasons
    assert any(r.startswith("bad_row_share: 10 of 40 rows") for r in batch.reasons), batch.reasons
    assert quarantined(config, "marketing", "contacts") == []  # the batch is out as a whole
    assert valid_rows(config, "marketing", "contacts") == set()


def test_a_few_bad_rows_never_reject_a_small_batch(quality_setup):
    config, root = quality_setup
    rows = contacts(4)
    rows[0]["e_mail"] = "kaputt"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))

    _, report = gate(config)

    assert not report.blocked and len(quarantined(config, "marketing", "contacts")) == 1


# -- nothing lost, idempotent, incremental -------------------------------------------------------------------


def test_no_row_is_lost_raw_is_valid_plus_quarantined_plus_rejected(quality_setup):
    config, root = quality_setup
    rows = contacts(40)
    rows[1]["e_mail"] = "kaputt"
    rows[2]["geburtsdatum"] = "01.01.2099"
    rows[3]["kontakt_id"] = rows[4]["kontakt_id"]
    text = contacts_csv(rows).replace("NL-000010;", 'NL-000010;"broken', 1)
    deliver(root, "silos/contacts/c1.csv", text)
    gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv(contacts(40, start=100), drop=("nachname",)))  # rejected
    loaded, _ = gate(config, run_id="r2", at=LATER)

    raw, valid = raw_rows(config, "marketing", "contacts"), valid_rows(config, "marketing", "contacts")
    held, rejected = (
        held_rows(config, "marketing", "contacts"),
        rejected_rows(config, "marketing", "contacts"),
    )
    assert held and rejected and valid
    assert valid | held | rejected == raw
    assert not (valid & held) and not (valid & rejected) and not (held & rejected)
    unparsed = held_rows(config, "marketing", "contacts", stage="ingest")
    assert unparsed and not (unparsed & raw)  # unparseable lines are not in raw, only in quarantine
    delivered = query(
        config,
        "select sum(rows_delivered) from meta.batches where source_name = 'marketing' and table_name = 'contacts'",
    )[0][0]
    assert delivered == len(raw) + len(unparsed)


def test_running_the_gate_again_adds_nothing(quality_setup):
    config, root = quality_setup
    rows = contacts(30)
    rows[0]["e_mail"] = "kaputt"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))
    _, first = gate(config)
    before = query(config, "select count(*), max(_c360_quarantined_at) from quarantine.marketing__contacts")
    batches = query(config, "select batch_id, validated_at, cast(quality as varchar) from meta.batches order by 1")

    again = validate(config, "r2", as_of=LATER)

    assert again.batches == [] and not again.blocked
    assert query(config, "select count(*), max(_c360_quarantined_at) from quarantine.marketing__contacts") == before
    assert (
        query(config, "select batch_id, validated_at, cast(quality as varchar) from meta.batches order by 1") == batches
    )


def test_only_new_batches_are_validated(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    _, first = gate(config)
    deliver(root, "silos/contacts/c2.csv", contacts_csv(contacts(20, start=31)))

    _, second = gate(config, run_id="r2", at=LATER)

    assert [b.location.rsplit("/", 1)[-1] for b in second.batches] == ["c2.csv"]
    assert second.batches[0].rows == 20


def test_a_rejected_batch_stops_only_the_run_that_found_it(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(30)))
    gate(config)
    deliver(root, "silos/contacts/c2.csv", "")
    _, blocked = gate(config, run_id="r2", at=LATER)
    assert blocked.blocked

    after = validate(config, "r3", as_of=LATER + timedelta(days=1))

    assert not after.blocked  # the batch stays rejected and listed; the next run goes on without it


# -- generic suite: a new silo, and tables without configuration ---------------------------------------------


def test_a_silo_added_by_configuration_gets_the_generic_suite(tmp_path):
    config = make_config(
        tmp_path,
        {
            "loyalty": {
                "connector": "files",
                "tables": {
                    "members": {
                        "path": "silos/members/*.jsonl",
                        "format": "jsonl",
                        "primary_key": "member_id",
                    }
                },
            }
        },
    )
    lines = [json.dumps({"member_id": f"M{i}", "points": i}) for i in range(1, 30)] + [json.dumps({"member_id": "M3"})]
    deliver(tmp_path, "silos/members/m1.jsonl", "\n".join(lines) + "\n")

    _, report = gate(config)

    assert report.batches[0].suite == "generic"
    held = quarantined(config, "loyalty", "members")
    assert {r["_c360_rule"] for r in held} == {"member_id_duplicate"} and len(held) == 2
    deliver(
        tmp_path,
        "silos/members/m2.jsonl",
        "\n".join(json.dumps({"member_id": f"N{i}"}) for i in range(30)) + "\n",
    )
    _, second = gate(config, run_id="r2", at=LATER)
    (batch,) = second.rejected  # `points`, filled before, is missing now
    assert any("missing column(s) points" in r for r in batch.reasons), batch.reasons


def test_a_table_without_configuration_is_still_gated(quality_setup):
    config, root = quality_setup
    deliver(root, "silos/contacts/c1.csv", contacts_csv(contacts(5)))
    gate(config)
    import duckdb

    with duckdb.connect(str(config.warehouse_path)) as con:  # a raw table some other process loaded
        con.execute(
            "create table raw_marketing.legacy as select _c360_batch_id || '-legacy' as _c360_batch_id, "
            "_c360_row_number, _c360_source, kontakt_id from raw_marketing.contacts"
        )
        con.execute(
            "insert into meta.batches (batch_id, run_id, source_name, table_name, location, rows_delivered, "
            "rows_loaded, loaded_at, status) select distinct _c360_batch_id, 'x', 'marketing', 'legacy', "
            "'legacy', 5, 5, now(), 'loaded' from raw_marketing.legacy"
        )

    report = validate(config, "r2", as_of=LATER)

    (batch,) = report.batches
    assert (batch.name, batch.suite, batch.status, batch.rows) == ("marketing.legacy", "generic", "passed", 5)


def test_thresholds_come_from_the_environment(monkeypatch):
    from expectations.settings import load_settings

    monkeypatch.setenv("C360_QUALITY_MAX_BAD_SHARE", "0.05")
    monkeypatch.setenv("C360_QUALITY_ALLOW_NEW_COLUMNS", "true")
    settings = load_settings(None)
    assert (settings.max_bad_share, settings.allow_new_columns) == (0.05, True)
    with pytest.raises(ValueError, match="max_bad_share"):
        QualitySettings(max_bad_share=2)


# -- GX and the SQL translation must agree -------------------------------------------------------------------


def test_a_disagreement_between_gx_and_sql_rejects_the_batch(quality_setup, monkeypatch):
    from customer360.ingest import ingest
    from expectations import sql

    config, root = quality_setup
    rows = contacts(30)
    rows[3]["e_mail"] = "anna.mueller.gmx.de"
    deliver(root, "silos/contacts/c1.csv", contacts_csv(rows))
    # a broken translation: the SQL of a regex rule selects nothing, while GX counts one row
    monkeypatch.setitem(sql._BUILDERS, "expect_column_values_to_match_regex", lambda e, s, c: sql.Predicate("false"))
    ingest(config, run_id="r1", loaded_at=T0)

    report = validate(config, "r1", as_of=T0)

    (batch,) = report.rejected
    assert batch.mismatches and any(
        r.startswith(
            "sql_mismatch: rule e_mail_format: Great Expectations counted 1 failing rows, its SQL translation "
            "selected 0, so the rows to quarantine are uncertain"
        )
        for r in batch.reasons
    ), batch.reasons
    assert quarantined(config, "marketing", "contacts") == [] and valid_rows(config, "marketing", "contacts") == set()
    assert batch_status(config, batch.batch_id)[0] == "rejected"
