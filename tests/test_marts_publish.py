"""Publishing the marts: a complete, read-only snapshot behind an atomic pointer; failures keep the last one.

The first tests use a small synthetic warehouse (fast); the integration tests use the demo pipeline.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest
from support.configs import make_config
from support.demo_pipeline import copy_demo
from typer.testing import CliRunner

from customer360 import pipeline
from customer360 import publish as publisher
from customer360.cli import app
from customer360.cli import snapshots as snapshots_cli
from customer360.core.config import Config, load_config
from customer360.serving import snapshots
from expectations.runner import validate_marts

# -- a synthetic warehouse -----------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, {})


def build_marts(config: Config, generation: int) -> dict[str, int]:
    """Replace the marts with tables sized by `generation`; `marts.expected_counts` lists the sizes."""
    sizes = {
        "dim_customer": 1000 * generation,
        "fct_touchpoints": 3000 * generation + 7,
        "customer_360": 1000 * generation,
    }
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create schema if not exists marts")
        for table, rows in sizes.items():
            con.execute(
                f"create or replace table marts.{table} as "
                f"select range as id, 'row ' || range as label, {generation} as generation from range({rows})"
            )
        con.execute(
            "create or replace table marts.expected_counts as select * from (values "
            + ", ".join(f"('{table}', {rows})" for table, rows in sizes.items())
            + ") as t(table_name, row_count)"
        )
    return {**sizes, "expected_counts": len(sizes)}


def read_snapshot(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(actual row counts, counts the snapshot says it should have)."""
    with duckdb.connect(str(path), read_only=True) as con:
        expected = dict(con.execute("select table_name, row_count from marts.expected_counts").fetchall())
        actual = {table: con.execute(f"select count(*) from marts.{table}").fetchone()[0] for table in expected}
    return actual, expected


def leftovers(config: Config) -> list[Path]:
    root = snapshots.published_dir(config)
    return [path for path in root.rglob(".*") if ".tmp-" in path.name]


def test_nothing_published_yet(config: Config) -> None:
    assert snapshots.current_snapshot(config) is None
    assert snapshots.list_snapshots(config) == []
    with pytest.raises(snapshots.SnapshotUnavailable, match="nothing published yet"):
        snapshots.connect_current(config)


def test_publish_writes_a_read_only_snapshot_parquet_and_pointers(config: Config) -> None:
    expected = build_marts(config, 1)
    report = publisher.publish(config, "r1")

    snapshot = snapshots.current_snapshot(config)
    assert snapshot == report.snapshot == snapshots.snapshot_path(config, "r1")
    assert report.tables == expected
    assert not os.stat(snapshot).st_mode & 0o222, "a published snapshot is read-only"
    assert (snapshots.published_dir(config) / "CURRENT").read_text().strip() == "snapshots/customer360-r1.duckdb"
    assert (snapshots.published_dir(config) / "customer360.duckdb").resolve() == snapshot.resolve()
    actual, wanted = read_snapshot(snapshot)
    assert actual == wanted
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("select run_id from meta.snapshot").fetchone()[0] == "r1"

    latest = snapshots.parquet_root(config) / "latest"
    assert latest.resolve() == (snapshots.parquet_root(config) / "r1").resolve()
    assert (snapshots.parquet_root(config) / "LATEST").read_text().strip() == "r1"
    for table, rows in expected.items():
        assert duckdb.sql(f"select count(*) from '{latest / (table + '.parquet')}'").fetchone()[0] == rows

    summary = report.summary()
    assert summary["snapshot"] == str(snapshot) and summary["tables"] == len(expected)
    assert {"customers", "source_records", "records_merged", "quarantined_rows", "parquet"} <= summary.keys()
    assert "published snapshot" in report.render()
    assert leftovers(config) == []


def test_republishing_the_same_run_keeps_the_published_file(config: Config) -> None:
    build_marts(config, 1)
    first = publisher.publish(config, "r1")
    before = os.stat(first.snapshot)
    build_marts(config, 2)  # the warehouse moved on; the file published for r1 must not change
    again = publisher.publish(config, "r1")
    after = os.stat(again.snapshot)
    assert again.reused
    assert (before.st_ino, before.st_mtime_ns, before.st_size) == (
        after.st_ino,
        after.st_mtime_ns,
        after.st_size,
    )
    assert snapshots.current_snapshot(config) == first.snapshot


def test_old_snapshots_are_pruned_but_never_the_current_one(config: Config) -> None:
    for generation in range(1, 5):
        build_marts(config, generation)
        report = publisher.publish(config, f"r{generation}", keep=2)
    assert report.pruned == ["r2"]
    names = sorted(path.name for path in snapshots.snapshots_dir(config).glob("*.duckdb"))
    assert names == ["customer360-r3.duckdb", "customer360-r4.duckdb"]
    assert sorted(p.name for p in snapshots.parquet_root(config).iterdir() if p.is_dir() and not p.is_symlink()) == [
        "r3",
        "r4",
    ]
    assert snapshots.current_run_id(config) == "r4"
    assert [info.run_id for info in snapshots.list_snapshots(config)] == ["r4", "r3"]
    assert snapshots.list_snapshots(config)[0].is_current


@pytest.mark.parametrize("failure", ["verification", "pointer"])
def test_a_failed_publish_leaves_the_last_good_snapshot(
    config: Config, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    build_marts(config, 1)
    good = publisher.publish(config, "good")
    build_marts(config, 2)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    if failure == "verification":
        monkeypatch.setattr(publisher, "_snapshot_counts", lambda path: {"dim_customer": 1})
    else:  # the very last step, switching CURRENT
        original = publisher._atomic_write

        def fail_on_pointer(path: Path, text: str) -> None:
            if path.name == "CURRENT":
                raise OSError("read-only file system")
            original(path, text)

        monkeypatch.setattr(publisher, "_atomic_write", fail_on_pointer)
    with pytest.raises(publisher.PublishError):
        publisher.publish(config, "bad")

    assert snapshots.current_snapshot(config) == good.snapshot
    actual, wanted = read_snapshot(good.snapshot)
    assert actual == wanted and actual["dim_customer"] == 1000
    assert (snapshots.parquet_root(config) / "latest").resolve().name == "good"
    assert (snapshots.published_dir(config) / "customer360.duckdb").resolve() == good.snapshot.resolve()
    assert not snapshots.snapshot_path(config, "bad").exists()
    assert not (snapshots.parquet_root(config) / "bad").exists()
    assert leftovers(config) == []

    monkeypatch.undo()
    assert publisher.publish(config, "bad").snapshot == snapshots.current_snapshot(config)


def test_a_failed_parquet_export_leaves_the_new_snapshot_current_and_the_last_export_latest(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_marts(config, 1)
    publisher.publish(config, "good")
    build_marts(config, 2)

    def boom(snapshot: Path, folder: Path, tables: list[str]) -> None:
        folder.mkdir()
        (folder / "dim_customer.parquet").write_bytes(b"half")
        raise OSError("disk full")

    exported = publisher._export_parquet
    monkeypatch.setattr(publisher, "_export_parquet", boom)
    with pytest.raises(
        publisher.ParquetExportFailed, match=r"is published and current.*`c360 publish` publishes the marts again"
    ):
        publisher.publish(config, "new")

    assert snapshots.current_run_id(config) == "new"
    assert read_snapshot(snapshots.current_snapshot(config))[0]["dim_customer"] == 2000
    assert (snapshots.parquet_root(config) / "latest").resolve().name == "good"
    assert (snapshots.parquet_root(config) / "LATEST").read_text().strip() == "good"
    assert not (snapshots.parquet_root(config) / "new").exists()
    assert leftovers(config) == []
    assert snapshots.latest_parquet_run_id(config) == "good"
    monkeypatch.setattr(snapshots_cli, "setup", lambda path: config)
    listed = CliRunner().invoke(app, ["snapshots"])
    assert "* new" in listed.output and "run good's, not the current snapshot's yet" in listed.output, listed.output

    monkeypatch.setattr(publisher, "_export_parquet", exported)
    retried = publisher.publish(config, "new")
    assert retried.reused
    latest = snapshots.parquet_root(config) / "latest"
    assert latest.resolve().name == "new"
    assert duckdb.sql(f"select count(*) from '{latest / 'dim_customer.parquet'}'").fetchone()[0] == 2000

    monkeypatch.setattr(publisher, "_export_parquet", boom)
    for attempt in ("next", "after"):  # more failed exports than snapshots kept: the exported one is not pruned
        with pytest.raises(publisher.ParquetExportFailed):
            publisher.publish(config, attempt, keep=1)
    assert snapshots.current_run_id(config) == "after"
    assert snapshots.snapshot_path(config, "new").is_file() and (latest / "dim_customer.parquet").is_file()
    assert not snapshots.snapshot_path(config, "next").exists() and not snapshots.snapshot_path(config, "good").exists()


def test_publish_refuses_empty_marts_and_bad_run_ids(config: Config) -> None:
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(config.warehouse_path)).close()
    with pytest.raises(publisher.PublishError, match="no tables"):
        publisher.publish(config, "r1")
    with pytest.raises(publisher.PublishError, match="cannot name a file"):
        publisher.publish(config, "../escape")
    assert snapshots.current_snapshot(config) is None


def test_a_reader_always_sees_a_complete_snapshot_while_publishing(config: Config) -> None:
    """A reader opens current_snapshot() in a loop while the marts are rebuilt and published again."""
    build_marts(config, 1)
    publisher.publish(config, "g01", keep=2)
    stop = threading.Event()
    seen: list[tuple[str, dict[str, int], dict[str, int]]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                con = snapshots.connect_current(config)
                try:
                    expected = dict(con.execute("select table_name, row_count from marts.expected_counts").fetchall())
                    actual = {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in expected}
                    generations = {
                        con.execute(f"select distinct generation from marts.{t}").fetchall()[0][0] for t in expected
                    }
                    run = con.execute("select run_id from meta.snapshot").fetchone()[0]
                finally:
                    con.close()
                assert len(generations) == 1, f"{run} mixes generations {generations}"
                seen.append((run, actual, expected))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for generation in range(2, 7):
            build_marts(config, generation)
            publisher.publish(config, f"g{generation:02d}", keep=2)
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert len(seen) > 5
    assert all(actual == expected for _, actual, expected in seen)
    assert len({run for run, _, _ in seen}) >= 2, "the reader followed the pointer to new snapshots"
    assert snapshots.current_run_id(config) == "g06"


def test_cli_registers_publish_snapshots_and_docs() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("publish", "snapshots", "docs"):
        assert command in result.output


# -- the demo pipeline ---------------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_pipeline_publishes_every_mart(demo_pipeline) -> None:  # noqa: ANN001 - fixture
    config = demo_pipeline.config
    report = demo_pipeline.summary.stages["publish"]
    snapshot = snapshots.current_snapshot(config)
    assert snapshot == report.snapshot
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        counts = {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}
    assert report.tables == counts
    for required in (
        "dim_customer",
        "customer_360",
        "next_best_action",
        "fct_touchpoints",
        "fct_orders",
        "fct_order_lines",
        "fct_tickets",
        "fct_marketing_events",
        "touchpoint_kpis",
        "customer_identity_map",
        "customer_ids",
        "customer_match_evidence",
    ):
        assert counts.get(required, 0) > 0, required
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables} == counts
    summary = report.summary()
    assert summary["customers"] == counts["dim_customer"]
    assert summary["source_records"] == counts["customer_identity_map"]
    assert summary["records_merged"] == counts["customer_identity_map"] - counts["dim_customer"]
    for table in tables:
        parquet = snapshots.parquet_root(config) / "latest" / f"{table}.parquet"
        assert duckdb.sql(f"select count(*) from '{parquet}'").fetchone()[0] == counts[table]


@pytest.mark.integration
def test_a_failed_run_leaves_the_last_published_snapshot(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    run = copy_demo(demo_pipeline, tmp_path)
    config = load_config(run.root / "customer360.yml")
    before = snapshots.current_snapshot(config)
    assert before is not None and before.is_relative_to(run.root), "pointers are relative: a copy points into itself"
    with duckdb.connect(str(config.warehouse_path)) as con:  # resolution output gone: the marts cannot build
        con.execute("drop table entity_resolution.identity_map")

    ctx = pipeline.RunContext.new(config)
    summary = pipeline.run_pipeline(ctx, [("marts", pipeline.marts), ("publish", pipeline.publish)])

    assert summary.status == "failed" and summary.exit_code != 0
    assert "publish" not in summary.stages
    assert snapshots.current_snapshot(config) == before
    with duckdb.connect(str(before), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customer").fetchone()[0] > 0


@pytest.mark.integration
def test_a_publish_rewrites_only_what_changed_in_the_search_index(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """The index beside a new snapshot is the previous one with the changed customers rewritten: none when the marts
    did not change; `full` builds it anew. Either way it finds every customer (rewritten = full is proven on a
    synthetic snapshot in test_console_search.py)."""
    from customer360.serving.search_index import SearchIndex, read_meta, sidecar_path

    run = copy_demo(demo_pipeline, tmp_path)
    config = load_config(run.root / "customer360.yml")
    first = publisher.publish(config, "again-1")  # the copied index names the original's path: built in full
    second = publisher.publish(config, "again-2")
    full = publisher.publish(config, "again-3", full=True)
    assert (first.index_changed_customers, second.index_changed_customers, full.index_changed_customers) == (
        None,
        0,
        None,
    )
    for report in (second, full):
        meta = read_meta(sidecar_path(report.snapshot))
        assert meta["snapshot"] == str(report.snapshot) and int(meta["customers"]) == report.customers
        index = SearchIndex(sidecar_path(report.snapshot))
        try:
            assert index.customer_count() == report.customers
        finally:
            index.close()


@pytest.mark.integration
def test_the_snapshot_honours_the_documented_contract(demo_pipeline) -> None:  # noqa: ANN001 - fixture
    """Every table and column docs/marts.md promises is in the published snapshot (the console uses it)."""
    import re

    from support.demo_pipeline import REPO

    promised: dict[str, set[str]] = {}
    for line in (REPO / "docs" / "marts.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `marts\.(\w+)` \|[^|]*\|(.*)\|\s*$", line)
        if match:
            columns = re.sub(r"\([^)]*\)", "", match.group(2))  # drop value lists such as (`active`, `merged`)
            promised[match.group(1)] = {name for name in re.findall(r"`([a-z0-9_]+)`", columns) if "<" not in name}
    assert {"dim_customer", "customer_360", "fct_touchpoints", "next_best_action"} <= promised.keys()
    with duckdb.connect(str(snapshots.current_snapshot(demo_pipeline.config)), read_only=True) as con:
        actual: dict[str, set[str]] = {}
        for table, column in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
        ).fetchall():
            actual.setdefault(table, set()).add(column)
    missing = {table: sorted(columns - actual.get(table, set())) for table, columns in promised.items()}
    assert {table: columns for table, columns in missing.items() if columns} == {}
    for attribute in ("first_name", "email", "phone_e164", "street", "postcode", "city", "country_code"):
        assert f"{attribute}_source" in actual["dim_customer"]


# -- incremental marts ---------------------------------------------------------------------------------------------

INCREMENTAL_MODELS = (  # besides the marts schema
    "staging.int_customer_consent",
    "staging.int_customer_signals",
    "staging.int_customer_touchpoint_kpis",
)


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    marts = con.execute(
        "select 'marts.' || table_name from information_schema.tables where table_schema = 'marts' order by 1"
    ).fetchall()
    return [name for (name,) in marts] + list(INCREMENTAL_MODELS)


def same_rows(con: duckdb.DuckDBPyConnection, left: str, right: str) -> int:
    """How many rows of either table the other lacks (0: the same rows, as many times)."""
    return con.execute(
        f"select count(*) from ((from {left} except all from {right}) union all (from {right} except all from {left}))"
    ).fetchone()[0]


@pytest.mark.integration
def test_an_incremental_marts_build_equals_a_full_one(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """A separation, a join and a restriction: the marts build after them writes only the customers concerned, and
    every mart then equals, row for row, a full build on the same data (customer360/marts_scope.py); an objection
    made before stays once. Publishing updates a copy of the previous snapshot, which then holds exactly the marts."""
    from customer360.core import decisions, tombstones

    run = copy_demo(demo_pipeline, tmp_path)
    config = load_config(run.root / "customer360.yml")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        objecting = con.execute(
            "select record_key from marts.customer_identity_map order by customer_id desc limit 1 offset 5"
        ).fetchone()[0]
    tombstones.add_request(config.state_dir, "objection", "profiling", [objecting], "test", "test")
    first = pipeline.marts(pipeline.RunContext.new(config))
    assert first.scope.full  # the copy's project differs from the original's (its paths): built in full
    before = publisher.publish(config, "before")
    assert before.updated_from is None
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        customers = con.execute("select count(*) from marts.dim_customer").fetchone()[0]
        separated, kept = con.execute(
            "select min(record_key), max(record_key) from marts.customer_identity_map"
            " group by customer_id having count(*) >= 2 order by customer_id limit 1"
        ).fetchone()
        joined = con.execute(
            "select c.record_key_l, c.record_key_r from marts.review_candidates as c"
            " join marts.customer_identity_map as l on l.record_key = c.record_key_l"
            " join marts.customer_identity_map as r on r.record_key = c.record_key_r"
            " where l.customer_id <> r.customer_id order by c.match_probability desc, 1, 2 limit 1"
        ).fetchone()
        restricted = con.execute(
            "select record_key from marts.customer_identity_map order by customer_id desc limit 1"
        ).fetchone()[0]
    decisions.add_decision(config.state_dir, separated, kept, "different", "test")
    decisions.add_decision(config.state_dir, *joined, "same", "test")
    tombstones.add_request(config.state_dir, "restriction", None, [restricted], "test", "test")

    summary = pipeline.run_pipeline(
        pipeline.RunContext.new(config), [("resolve", pipeline.resolve), ("marts", pipeline.marts)]
    )
    assert summary.status == "succeeded", summary.message
    scope = summary.stages["marts"].scope
    assert not scope.full and 3 <= scope.customers <= 10, scope  # old and new IDs of three changes
    checked = validate_marts(config, "check")  # the published build, updated: the changed customers' rows
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        for mart in checked.marts:
            assert mart.success, mart
            assert (mart.rows, mart.checked) == con.execute(
                f"select count(*), count(*) filter (where customer_id in (select customer_id from meta.marts_changes))"
                f" from marts.{mart.table}"
            ).fetchone()
            assert 0 < mart.checked < mart.rows
    after = publisher.publish(config, "after")
    assert after.updated_from == before.snapshot.name
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create schema incremental")
        for table in mart_tables(con):
            con.execute(f"create table incremental.{table.split('.')[1]} as select * from {table}")
        ids = dict(con.execute("select record_key, customer_id from marts.customer_identity_map").fetchall())
        assert ids[separated] != ids[kept] and ids[joined[0]] == ids[joined[1]]
        assert con.execute(
            "select is_processing_restricted from marts.dim_customer where customer_id = ?", [ids[restricted]]
        ).fetchone()[0]
        con.execute(f"attach '{after.snapshot}' as published (read_only)")
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where database_name = 'published' and schema_name = 'marts'"
        ).fetchall():
            assert same_rows(con, f"published.marts.{table}", f"marts.{table}") == 0, f"snapshot: {table}"

    assert_data_tests_read_the_scope(config)

    assert pipeline.marts(pipeline.RunContext.new(config), full=True).scope.full
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_customer").fetchone()[0] in {customers - 1, customers}
        for table in mart_tables(con):
            copy = f"incremental.{table.split('.')[1]}"
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            assert rows == con.execute(f"select count(*) from {copy}").fetchone()[0], table
            differing = same_rows(con, table, copy)
            assert differing == 0, f"{table}: {differing} rows differ between the incremental and the full build"


@pytest.mark.integration
def test_a_delivery_within_the_day_rebuilds_only_its_customers(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """One silo's delivery that does not move the reference time (a contact's new phone number and newsletter
    opt-out, `c360 run --source marketing`): the marts build writes the customers whose staged rows changed, and
    every mart equals, row for row, a full build on the same data."""
    run = copy_demo(demo_pipeline, tmp_path)
    config = load_config(run.root / "customer360.yml")
    assert pipeline.marts(pipeline.RunContext.new(config)).scope.full  # the copy's paths differ: built in full
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        reference_at = con.execute("select reference_at from staging.int_reference_time").fetchone()[0]
    latest = sorted((run.silos / "marketing" / "contacts").glob("*.csv"))[-1]
    header, row = latest.read_text(encoding="utf-8").splitlines()[:2]
    fields = row.split(";")
    fields[6] = "+49 151 99887766"  # Telefon
    fields[11], fields[13] = "nein", reference_at.strftime("%d.%m.%Y 08:00")  # Newsletter, Abgemeldet am
    fields[14] = reference_at.strftime("%d.%m.%Y 08:30")  # Letzte Änderung: the same day as the data's latest
    (latest.parent / f"{latest.stem}-b.csv").write_text(f"{header}\n{';'.join(fields)}\n", encoding="utf-8")

    summary = pipeline.run_pipeline(pipeline.RunContext.new(config), pipeline.default_stages(sources=["marketing"]))
    assert summary.status == "succeeded", summary.message
    scope = summary.stages["marts"].scope
    assert not scope.full and 1 <= scope.customers <= 4, scope
    with duckdb.connect(str(config.warehouse_path)) as con:
        assert con.execute("select reference_at from staging.int_reference_time").fetchone()[0] == reference_at
        changed = con.execute(
            "select d.customer_id, d.phone_e164, c.newsletter_consent_status from marts.customer_identity_map as m"
            " join marts.dim_customer as d using (customer_id) join marts.customer_360 as c using (customer_id)"
            " where m.source_system = 'marketing' and m.source_record_id = ?",
            [fields[0]],
        ).fetchone()
        assert changed[0] in {row[0] for row in con.execute("select customer_id from meta.marts_changes").fetchall()}
        con.execute("create schema incremental")
        for table in mart_tables(con):
            con.execute(f"create table incremental.{table.split('.')[1]} as select * from {table}")

    assert pipeline.marts(pipeline.RunContext.new(config), full=True).scope.full
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        for table in mart_tables(con):
            differing = same_rows(con, table, f"incremental.{table.split('.')[1]}")
            assert differing == 0, f"{table}: {differing} rows differ between the incremental and the full build"
    assert changed[1:] == ("+4915199887766", "opted_out"), changed


def assert_data_tests_read_the_scope(config: Config) -> None:
    """While a build is scoped (meta.marts_scope), the data tests of a mart built per customer read the customers in
    scope: a duplicate golden record outside it goes unseen (those rows are the last build's, tested whole), one
    inside it fails the build."""
    from customer360 import transform

    def unique_test() -> str:
        result = transform.run_dbt(config, ["test", "--select", "dim_customer,test_name:unique"], False)
        (status,) = [node.status for node in result.results if ".unique_dim_customer_customer_id." in node.unique_id]
        return status

    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create table meta.marts_scope as select customer_id from meta.marts_changes")
        con.execute(
            "insert into marts.dim_customer select * from marts.dim_customer"
            " where customer_id not in (select customer_id from meta.marts_scope) limit 1"
        )
    assert unique_test() == "pass"
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute(
            "insert into marts.dim_customer select * from marts.dim_customer"
            " where customer_id in (select customer_id from meta.marts_scope) limit 1"
        )
    assert unique_test() == "fail"
