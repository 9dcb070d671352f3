"""PostgreSQL connector against a real server started by the test suite (tests/support/postgres.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from support.configs import counts, ledger_balanced, make_config, query

from customer360.core.config import ColumnRules, IdentityMapping
from customer360.ingest import ingest

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

SCHEMA = """
drop schema if exists shop cascade;
create schema shop;
create table shop.customers (
    customer_id integer primary key, customer_number text, first_name text, last_name text, email text,
    birth_date date, is_active boolean, updated_at timestamptz not null
);
create table shop.orders (
    order_id integer primary key, customer_id integer references shop.customers, total_amount numeric(12, 2),
    status text, updated_at timestamptz not null
);
"""


def _customers(ids, at: datetime):
    return [
        (
            i,
            f"K-{100000 + i}",
            f"Vorname{i}",
            "Müller",
            f"p{i}@example.de",
            datetime(1980, 1, 1).date(),
            True,
            at + timedelta(minutes=i),
        )
        for i in ids
    ]


@pytest.fixture
def shop(postgres_dsn):
    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute(SCHEMA)
        with con.cursor() as cur:
            cur.executemany(
                "insert into shop.customers values (%s, %s, %s, %s, %s, %s, %s, %s)",
                _customers(range(1, 21), datetime(2024, 1, 1, tzinfo=UTC)),
            )
            cur.executemany(
                "insert into shop.orders values (%s, %s, %s, %s, %s)",
                [
                    (
                        i,
                        i,
                        Decimal("19.90") * i,
                        "completed",
                        datetime(2024, 1, 2, tzinfo=UTC) + timedelta(hours=i),
                    )
                    for i in range(1, 31)
                    if i <= 20
                ]
                + [(i, 1, Decimal("5.00"), "returned", datetime(2024, 1, 3, tzinfo=UTC)) for i in (21, 22)],
            )
    return postgres_dsn


def pg_config(tmp_path, dsn: str):
    cursor = {"incremental": {"cursor": "updated_at"}}
    return make_config(
        tmp_path,
        {
            "sales": {
                "connector": "postgres",
                "dsn": dsn,
                "schema": "shop",
                "tables": {
                    "customers": {"primary_key": "customer_id", **cursor},
                    "orders": {"primary_key": "order_id", **cursor},
                },
            }
        },
    )


def test_cursor_incremental_against_postgres(tmp_path, shop):
    config = pg_config(tmp_path, shop)

    first = ingest(config, run_id="r1", loaded_at=T0)

    assert first.ok, first.messages
    assert first.result("sales", "customers").rows_loaded == 20
    assert first.result("sales", "orders").rows_loaded == 22
    types = dict(query(config, "select column_name, column_type from (describe raw_sales.customers)"))
    assert types["customer_id"] == "INTEGER" and types["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["birth_date"] == "DATE" and types["is_active"] == "BOOLEAN"  # source types are kept
    assert (
        dict(query(config, "select column_name, column_type from (describe raw_sales.orders)"))["total_amount"]
        == "DECIMAL(12,2)"
    )
    location, cursor_to = query(config, "select location, cursor_to from meta.batches where table_name = 'customers'")[
        0
    ]
    assert location.startswith("postgres:host=127.0.0.1") and "#shop.customers" in location
    assert cursor_to.startswith("2024-01-01 00:20:00")

    with psycopg.connect(shop, autocommit=True) as con:
        con.cursor().executemany(
            "insert into shop.customers values (%s, %s, %s, %s, %s, %s, %s, %s)",
            _customers(range(21, 24), datetime(2024, 2, 1, tzinfo=UTC)),
        )
        con.execute(
            "update shop.customers set last_name = 'Schmidt', updated_at = '2024-02-05T00:00:00Z' where customer_id = 7"
        )

    second = ingest(config, run_id="r2", loaded_at=T0 + timedelta(days=1))

    customers = second.result("sales", "customers")
    assert (customers.rows_delivered, customers.rows_loaded, customers.rows_duplicate) == (5, 4, 1)
    assert query(
        config,
        "select customer_id, last_name from raw_sales.customers where _c360_batch_id = ? order by updated_at",
        [customers.batches[0]],
    ) == [(21, "Müller"), (22, "Müller"), (23, "Müller"), (7, "Schmidt")]
    assert second.result("sales", "orders").rows_loaded == 0

    third = ingest(config, run_id="r3", loaded_at=T0 + timedelta(days=2))
    assert third.ok and all(r.rows_loaded == 0 for r in third.results)
    assert counts(config, "sales", "customers") == (24, 0, 2)
    assert ledger_balanced(config)


def test_a_read_that_breaks_off_midway_commits_nothing_and_a_rerun_loads_all(tmp_path, shop):
    """The server fails in the middle of a read (here: a view that divides by zero at the 15th row): nothing of
    the read is committed, the failure is in the ledger, and the next read after the fix loads every row once."""
    fragile = (
        "create or replace view shop.customer_view as select *, 100 / (customer_id - {}) as ratio from shop.customers"
    )
    with psycopg.connect(shop, autocommit=True) as con:
        con.execute(fragile.format(15))
    config = make_config(
        tmp_path,
        {
            "sales": {
                "connector": "postgres",
                "dsn": shop,
                "schema": "shop",
                "tables": {
                    "customers": {
                        "source_table": "customer_view",
                        "primary_key": "customer_id",
                        "incremental": {"cursor": "updated_at"},
                    }
                },
            }
        },
    )

    broken = ingest(config, run_id="r1", loaded_at=T0)

    assert broken.exit_code == 1 and broken.failed_sources == ["sales"]
    assert "division by zero" in broken.result("sales", "customers").errors[0]
    assert counts(config, "sales", "customers")[:2] == (0, 0)  # nothing partial
    assert query(config, "select status from meta.batches") == [("failed",)]

    with psycopg.connect(shop, autocommit=True) as con:
        con.execute(fragile.format(-1))
    fixed = ingest(config, run_id="r2", loaded_at=T0 + timedelta(hours=1))

    assert fixed.ok and fixed.result("sales", "customers").rows_loaded == 20
    assert query(config, "select count(distinct customer_id), count(*) from raw_sales.customers") == [(20, 20)]
    assert ledger_balanced(config)


def test_unreachable_postgres_is_reported_without_the_password(tmp_path, postgres_server):
    dsn = f"host=127.0.0.1 port={postgres_server.port} user=postgres password=s3cr3t dbname=does_not_exist"
    report = ingest(pg_config(tmp_path, dsn), run_id="r1", loaded_at=T0)
    assert report.failed_sources == ["sales"] and report.exit_code == 1
    error = report.result("sales", "customers").errors[0]
    assert "cannot connect to PostgreSQL" in error and "does_not_exist" in error and "check `dsn`" in error
    assert "s3cr3t" not in error and "password=***" in error


def test_an_erased_person_read_again_from_postgres_is_suppressed(tmp_path, shop):
    """Tombstones (docs/privacy.md) hold for a database read: the first read and a full re-read (`--reload`) skip
    the erased customer's row and the orders that reference it, and count them as suppressed."""
    from customer360.core import tombstones

    config = pg_config(tmp_path, shop).model_copy(deep=True)
    sales = config.source("sales")
    sales.identity.append(
        IdentityMapping(
            table="customers", source_record_id="customer_id", first_name="first_name", last_name="last_name"
        )
    )
    sales.table("orders").columns["customer_id"] = ColumnRules(references="customers.customer_id")
    key = tombstones.project_key(config.state_dir, create=True)
    # what an erasure of customer 7 leaves: its identity record and its key, which orders reference
    tombstones.add(
        config.state_dir,
        "E-test",
        [tombstones.keyed_hash(key, v) for v in ("sales:7", "sales.customers.customer_id=7")],
    )

    for run_id, reload in (("r1", None), ("r2", ["sales.customers", "sales.orders"])):
        report = ingest(config, run_id=run_id, loaded_at=T0, reload=reload)
        assert report.ok, report.messages
        customers, orders = report.result("sales", "customers"), report.result("sales", "orders")
        assert (customers.rows_loaded, customers.rows_suppressed) == (19, 1), run_id
        assert (orders.rows_loaded, orders.rows_suppressed) == (21, 1), run_id
    assert query(config, "select count(*) from raw_sales.customers where customer_id = 7") == [(0,)]
    assert query(config, "select count(*) from raw_sales.orders where customer_id = 7") == [(0,)]
