"""SQLite connector: cursor-incremental and full reads, de-duplicated by row hash; unreachable databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.configs import counts, ledger_balanced, make_config, query

from customer360.ingest import ingest
from customer360.ingest.database import redact_dsn

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2024, 3, 2, 12, 0, tzinfo=UTC)


def make_shop(path: Path, customers: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            create table customers (customer_id integer primary key, first_name text, last_name text,
                                    email text, is_active integer, updated_at text);
            create table countries (code text, name text);
            insert into countries values ('DE', 'Deutschland'), ('AT', 'Österreich');
            """
        )
        db.executemany(
            "insert into customers values (?, ?, ?, ?, ?, ?)",
            [
                (i, f"Vorname{i}", "Müller", f"p{i}@example.de", 1, f"2024-01-{i:02d}T08:00:00Z")
                for i in range(1, customers + 1)
            ],
        )
    return path


def shop_config(tmp_path: Path, **customers):
    return make_config(
        tmp_path,
        {
            "sales": {
                "connector": "sqlite",
                "path": "silos/shop.sqlite",
                "tables": {
                    "customers": {
                        "primary_key": "customer_id",
                        "incremental": {"cursor": "updated_at"},
                        **customers,
                    },
                    "countries": {},
                },
            },
            "marketing": {
                "connector": "files",
                "tables": {"contacts": {"path": "in/*.csv", "format": "csv"}},
            },
        },
    )


def test_cursor_incremental_loads_only_new_and_changed_rows(tmp_path):
    db = make_shop(tmp_path / "silos/shop.sqlite")
    config = shop_config(tmp_path)

    first = ingest(config, run_id="r1", loaded_at=T0)

    assert first.ok
    customers = first.result("sales", "customers")
    assert (customers.rows_delivered, customers.rows_loaded, customers.status) == (10, 10, "loaded")
    types = dict(query(config, "select column_name, column_type from (describe raw_sales.customers)"))
    assert types["customer_id"] == "VARCHAR" and types["is_active"] == "VARCHAR"  # SQLite is read as text
    batch = query(
        config,
        "select location, cursor_from, cursor_to, rows_loaded from meta.batches where table_name = 'customers'",
    )
    assert batch[0][1:] == (None, "2024-01-10T08:00:00Z", 10)
    assert batch[0][0].startswith("sqlite:") and batch[0][0].endswith(
        "#main.customers [full read; up to '2024-01-10T08:00:00Z']"
    )
    assert query(
        config,
        "select min(_c360_row_number), max(_c360_row_number), count(distinct _c360_row_hash), "
        "min(_c360_source) from raw_sales.customers",
    )[0][:3] == (1, 10, 10)

    with sqlite3.connect(db) as con:
        con.executemany(
            "insert into customers values (?, ?, ?, ?, ?, ?)",
            [
                (11, "Neu", "Kunde", "n@x.de", 1, "2024-02-01T08:00:00Z"),
                (12, "Noch", "Einer", "e@x.de", 1, "2024-02-02T08:00:00Z"),
            ],
        )
        con.execute(
            "update customers set last_name = 'Schmidt', updated_at = '2024-02-03T08:00:00Z' where customer_id = 3"
        )

    second = ingest(config, run_id="r2", loaded_at=T1)

    result = second.result("sales", "customers")
    # rows with updated_at >= the last maximum: the boundary row (id 10) again, de-duplicated, plus 3 new
    assert (result.rows_delivered, result.rows_loaded, result.rows_duplicate) == (4, 3, 1)
    assert query(
        config,
        "select customer_id, last_name from raw_sales.customers where _c360_loaded_at = ? order by updated_at",
        [T1],
    ) == [("11", "Kunde"), ("12", "Einer"), ("3", "Schmidt")]
    assert query(
        config,
        "select cursor_from, cursor_to from meta.batches where run_id = 'r2' and table_name = 'customers'",
    ) == [("2024-01-10T08:00:00Z", "2024-02-03T08:00:00Z")]
    # the countries table has no cursor: read in full, nothing new
    assert second.result("sales", "countries").rows_loaded == 0
    assert second.result("sales", "countries").rows_duplicate == 2

    before = {t: counts(config, "sales", t) for t in ("customers", "countries")}
    third = ingest(config, run_id="r3", loaded_at=datetime(2024, 3, 3, tzinfo=UTC))
    assert third.ok and all(r.rows_loaded == 0 for r in third.results)
    assert {t: counts(config, "sales", t) for t in ("customers", "countries")} == before
    assert third.result("sales", "customers").status == "unchanged"
    assert ledger_balanced(config)


def test_rows_without_a_cursor_value_are_loaded_and_flagged(tmp_path):
    """Rows whose cursor is NULL: loaded on the first incremental read after they appear, once (issue 15)."""
    db = make_shop(tmp_path / "silos/shop.sqlite", customers=3)
    config = shop_config(tmp_path)
    assert ingest(config, run_id="r1", loaded_at=T0).result("sales", "customers").rows_loaded == 3
    with sqlite3.connect(db) as con:
        con.execute("insert into customers values (4, 'Ohne', 'Datum', 'o@x.de', 1, null)")

    second = ingest(config, run_id="r2", loaded_at=T1).result("sales", "customers")
    third = ingest(config, run_id="r3", loaded_at=datetime(2024, 3, 3, tzinfo=UTC)).result("sales", "customers")

    assert second.rows_loaded == 1 and third.rows_loaded == 0  # loaded once, by its content
    assert any("1 row(s) have no updated_at" in message.text for message in second.messages)
    assert query(config, "select customer_id from raw_sales.customers where updated_at is null") == [("4",)]


def test_table_without_cursor_is_read_in_full_and_deduplicated(tmp_path):
    db = make_shop(tmp_path / "silos/shop.sqlite", customers=2)
    config = shop_config(tmp_path)
    ingest(config, run_id="r1", loaded_at=T0)
    with sqlite3.connect(db) as con:
        con.execute("insert into countries values ('CH', 'Schweiz')")
    report = ingest(config, run_id="r2", loaded_at=T1)
    countries = report.result("sales", "countries")
    assert (countries.rows_delivered, countries.rows_loaded, countries.rows_duplicate) == (3, 1, 2)
    assert query(config, "select code, name from raw_sales.countries order by _c360_loaded_at, code") == [
        ("AT", "Österreich"),
        ("DE", "Deutschland"),
        ("CH", "Schweiz"),
    ]


def test_lookback_rereads_a_window_and_deduplicates(tmp_path):
    db = make_shop(tmp_path / "silos/shop.sqlite", customers=5)
    config = shop_config(tmp_path, incremental={"cursor": "updated_at", "lookback_seconds": 3 * 86400})
    ingest(config, run_id="r1", loaded_at=T0)
    with sqlite3.connect(db) as con:  # a late commit with an older timestamp, inside the lookback window
        con.execute("insert into customers values (6, 'Spät', 'Dran', 's@x.de', 1, '2024-01-04T09:00:00Z')")
    report = ingest(config, run_id="r2", loaded_at=T1)
    result = report.result("sales", "customers")
    # bound = last maximum (01-05 08:00) - 3 days = 01-02 08:00: customers 2-5 again, plus the late one
    assert (result.rows_delivered, result.rows_loaded, result.rows_duplicate) == (5, 1, 4)
    assert query(config, "select cursor_from from meta.batches where run_id = 'r2' and table_name = 'customers'") == [
        ("2024-01-02T08:00:00Z",)
    ]


def test_reload_reads_a_table_again_from_the_first_cursor_value(tmp_path):
    make_shop(tmp_path / "silos/shop.sqlite", customers=5)
    config = shop_config(tmp_path)
    ingest(config, run_id="r1", loaded_at=T0)

    report = ingest(config, run_id="r2", loaded_at=T1, reload=["sales.customers"])

    assert report.result("sales", "customers").rows_loaded == 5  # the same rows, read again in full
    assert report.result("sales", "countries").rows_loaded == 0  # not reloaded: nothing new
    assert query(
        config, "select run_id, status, rows_loaded from meta.batches where table_name = 'customers' order by 1"
    ) == [("r1", "superseded", 5), ("r2", "loaded", 5)]
    assert counts(config, "sales", "customers")[0] == 10  # both readings stay in raw
    again = ingest(config, run_id="r3", loaded_at=T1)
    assert again.result("sales", "customers").rows_loaded == 0  # the cursor continues from the reload
    assert ledger_balanced(config)


def test_missing_database_fails_the_source_and_the_others_still_load(tmp_path):
    config = shop_config(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in/c.csv").write_text("id,name\n1,Anna\n")

    report = ingest(config, run_id="r1", loaded_at=T0)

    assert report.failed_sources == ["sales"] and report.exit_code == 3 and not report.ok
    message = report.result("sales", "customers").errors[0]
    assert "SQLite database" in message and str(tmp_path / "silos/shop.sqlite") in message and "not found" in message
    assert report.result("marketing", "contacts").rows_loaded == 1
    assert not (tmp_path / "silos/shop.sqlite").exists()  # attaching must not create an empty database
    failed = query(config, "select table_name, status, location from meta.batches where source_name = 'sales'")
    assert sorted(failed) == [
        ("countries", "failed", f"sqlite:{tmp_path / 'silos/shop.sqlite'}#main.countries"),
        ("customers", "failed", f"sqlite:{tmp_path / 'silos/shop.sqlite'}#main.customers"),
    ]

    (tmp_path / "silos").mkdir()
    (tmp_path / "silos/shop.sqlite").write_text("this is not a database")
    report = ingest(config, run_id="r2", loaded_at=T1)
    message = report.result("sales", "customers").errors[0]
    assert "cannot open SQLite database" in message and "not a database" in message


def test_missing_table_and_cursor_column_are_named(tmp_path):
    make_shop(tmp_path / "silos/shop.sqlite", customers=1)
    config = make_config(
        tmp_path,
        {
            "sales": {
                "connector": "sqlite",
                "path": "silos/shop.sqlite",
                "tables": {
                    "orders": {},
                    "customers": {"incremental": {"cursor": "changed_at"}},
                    "countries": {},
                },
            }
        },
    )
    report = ingest(config, run_id="r1", loaded_at=T0)
    orders = report.result("sales", "orders").errors[0]
    assert "table main.orders not found" in orders and "countries, customers" in orders
    assert "cursor column 'changed_at'" in report.result("sales", "customers").errors[0]
    assert report.result("sales", "countries").rows_loaded == 2  # the source's other tables still load
    assert report.failed_sources == ["sales"] and report.exit_code == 1


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        (
            "postgresql://app:pa55@db.example:5432/shop?sslmode=require",
            "postgresql://app@db.example:5432/shop?sslmode=require",
        ),
        ("host=db user=app password='p a s s' dbname=shop", "host=db user=app password=*** dbname=shop"),
        ("host=db password=pa55 dbname=shop", "host=db password=*** dbname=shop"),
    ],
)
def test_redact_dsn(dsn, shown):
    assert redact_dsn(dsn) == shown
