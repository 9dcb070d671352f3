"""Data-subject requests on the demo pipeline's warehouse (docs/privacy.md): the access export holds every source
record, consent statement and fact of a multi-source customer, says why each record is included, refuses an
identifier that several customers share, and the CLI writes it as JSON and HTML."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.demo_pipeline import copy_demo

from customer360 import privacy
from customer360.core import warehouse
from customer360.core.errors import UsageError

pytestmark = pytest.mark.integration

C360 = str(Path(sys.executable).with_name("c360"))


def one(con: duckdb.DuckDBPyConnection, sql: str, *parameters: Any) -> Any:
    return con.execute(sql, list(parameters)).fetchone()


@pytest.fixture(scope="module")
def multi_source(demo_pipeline) -> dict[str, Any]:  # noqa: ANN001 - fixture
    """A customer with records in all three silos, orders, tickets and consent statements."""
    with warehouse.session(demo_pipeline.config, read_only=True) as con:
        row = one(
            con,
            """
            select c.customer_id, c.email
            from marts.customer_360 as c
            where len(c.source_systems) = 3 and c.order_count > 0 and c.ticket_count > 0 and c.email is not null
              and exists (select 1 from marts.customer_consent as s where s.customer_id = c.customer_id)
              and (select count(distinct m.customer_id) from staging.int_identity_records as r
                   join marts.customer_identity_map as m using (record_key) where r.email_std = c.email) = 1
            order by c.customer_id limit 1
            """,
        )
    assert row, "the demo has a customer in every silo"
    return {"customer_id": row[0], "email": row[1]}


def test_the_export_holds_every_source_record_and_fact(demo_pipeline, multi_source) -> None:  # noqa: ANN001
    config = demo_pipeline.config
    customer_id = multi_source["customer_id"]
    with warehouse.session(config, read_only=True) as con:
        subject = privacy.find_subject(con, email=multi_source["email"].upper())
        document = privacy.access_export(con, config, subject)
        members = con.execute(
            "select source_system, source_record_id from marts.customer_identity_map where customer_id = ?",
            [customer_id],
        ).fetchall()
        fact_counts = {
            table: one(con, f"select count(*) from marts.{table} where customer_id = ?", customer_id)[0]
            for table in ("fct_orders", "fct_order_lines", "fct_tickets", "fct_marketing_events", "fct_touchpoints")
        }
        statements = one(
            con,
            """select count(*) from staging.int_consent_events as e join marts.customer_identity_map as m
               using (source_system, source_record_id) where m.customer_id = ?""",
            customer_id,
        )[0]
    assert subject.customer_id == customer_id
    exported = {(r["source_system"], r["source_record_id"]) for r in document["source_records"]}
    assert exported == set(members), "every member record, and only those"
    assert all(r["delivered_row"]["_c360_batch_id"] for r in document["source_records"])
    assert {(m["source_system"], m["source_record_id"]) for m in document["why_these_records"]["members"]} == set(
        members
    )
    assert len(document["why_these_records"]["links"]) >= 1, "the identity links explain a multi-record customer"
    for table, count in fact_counts.items():
        assert len(document["marts"][table]) == count, table
        assert all(row["customer_id"] == customer_id for row in document["marts"][table])
    assert fact_counts["fct_orders"] and fact_counts["fct_tickets"]
    assert len(document["consent_statements"]) == statements > 0
    for derived in ("dim_customer", "customer_360", "next_best_action", "customer_consent"):
        assert document["marts"][derived], derived
    assert [p["name"] for p in document["purposes"]] == [p.name for p in config.privacy.purposes]


def test_a_shared_identifier_names_no_one(demo_pipeline) -> None:  # noqa: ANN001
    """A family e-mail belongs to several customers: exporting them all would disclose one person to another."""
    with warehouse.session(demo_pipeline.config, read_only=True) as con:
        shared = one(
            con,
            """select r.email_std from staging.int_identity_records as r join marts.customer_identity_map as m
               using (record_key) where r.email_std is not null group by 1 having count(distinct m.customer_id) > 1
               order by 1 limit 1""",
        )
        assert shared, "the demo has households sharing an e-mail address"
        with pytest.raises(privacy.AmbiguousSubject, match="belongs to [0-9]+ customers .*--customer"):
            privacy.find_subject(con, email=shared[0])
        with pytest.raises(privacy.SubjectNotFound):
            privacy.find_subject(con, phone="+49 30 0000000")


def test_a_phone_number_in_another_format_finds_the_customer(demo_pipeline) -> None:  # noqa: ANN001
    with warehouse.session(demo_pipeline.config, read_only=True) as con:
        phone, customer_id = one(
            con,
            """select r.phone_e164, min(m.customer_id) from staging.int_identity_records as r
               join marts.customer_identity_map as m using (record_key) where r.phone_e164 like '+49%'
               group by 1 having count(distinct m.customer_id) = 1 order by 1 limit 1""",
        )
        national = f"0{phone[3:6]}/{phone[6:]}"  # +4915112345678 → 0151/12345678
        assert privacy.find_subject(con, phone=national) == privacy.Subject(customer_id, f"phone {national}")
        with pytest.raises(UsageError, match="is not a phone number"):
            privacy.find_subject(con, phone="call me")


def test_cli_writes_json_and_html(demo_pipeline, multi_source, tmp_path: Path) -> None:  # noqa: ANN001
    env = {key: value for key, value in os.environ.items() if key != "C360_CONFIG"}
    config = str(demo_pipeline.config.file)
    done = subprocess.run(
        [C360, "privacy", "export", "--customer", multi_source["customer_id"], "--out", str(tmp_path), "-c", config],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [json_file] = tmp_path.glob("*.json")
    [html_file] = tmp_path.glob("*.html")
    document = json.loads(json_file.read_text(encoding="utf-8"))
    assert (
        document["format"] == privacy.EXPORT_FORMAT
        and document["subject"]["customer_id"] == multi_source["customer_id"]
    )
    page = html_file.read_text(encoding="utf-8")
    assert multi_source["customer_id"] in page and "Why we process it" in page
    assert all(r["delivered_row"]["_c360_row_hash"] in page for r in document["source_records"])
    neither = subprocess.run(
        [C360, "privacy", "export", "-c", config], env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert (
        neither.returncode == 2 and "exactly one of --customer" in neither.stderr and "Traceback" not in neither.stderr
    )


# -- erasure ---------------------------------------------------------------------------------------------------


def _household(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """Two customers sharing an e-mail address (a household), the first with records in as many silos as any."""
    row = one(
        con,
        """
        with shared as (
            select r.email_std, list(distinct m.customer_id order by m.customer_id) as customers
            from staging.int_identity_records as r join marts.customer_identity_map as m using (record_key)
            where r.email_std is not null group by 1 having count(distinct m.customer_id) = 2
        )
        select c.customer_id, list_filter(shared.customers, x -> x != c.customer_id)[1]
        from shared join marts.customer_360 as c on list_contains(shared.customers, c.customer_id)
        order by len(c.source_systems) desc, c.order_count desc, c.customer_id limit 1
        """,
    )
    assert row, "the demo has a household sharing an e-mail address"
    return row[0], row[1]


def _footprint(con: duckdb.DuckDBPyConnection, customer_id: str) -> dict[str, Any]:
    """What the marts hold about a customer: row counts per customer-keyed table and the member records."""
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.columns where table_schema = 'marts'"
            " and column_name = 'customer_id' and table_name != 'customer_ids' order by 1"
        ).fetchall()
    ]
    counts = {t: one(con, f"select count(*) from marts.{t} where customer_id = ?", customer_id)[0] for t in tables}
    members = [
        r[0]
        for r in con.execute(
            "select record_key from marts.customer_identity_map where customer_id = ? order by 1", [customer_id]
        ).fetchall()
    ]
    return {"counts": counts, "members": members}


def _mentions(path: Path, needles: list[str], skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(table, needle) for every table of a DuckDB file (or Parquet file) whose rows mention a needle."""
    found = []
    con = duckdb.connect(str(path), read_only=True) if path.suffix == ".duckdb" else duckdb.connect()
    try:
        if path.suffix == ".parquet":
            relations = [(path.stem, f"read_parquet('{path}')")]
        else:
            relations = [
                (f"{s}.{t}", f'"{s}"."{t}"')
                for s, t in con.execute(
                    "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
                ).fetchall()
            ]
        for name, relation in relations:
            if name.endswith(skip):
                continue
            text = "lower(cast(to_json(rows) as varchar))"
            for needle in needles:
                if one(con, f"select count(*) from {relation} as rows where contains({text}, ?)", needle.lower())[0]:
                    found.append((name, needle))
    finally:
        con.close()
    return found


def _raw_rows_of(config: Any, record_keys: list[str]) -> list[str]:
    """Raw tables with a row that is one of the records (identity mappings) or belongs to one (streams, consent)."""
    ids: dict[str, list[str]] = {}
    for key in record_keys:
        system, _, record_id = key.partition(":")
        ids.setdefault(system, []).append(record_id)
    reads = [(system, source, m.table, m.source_record_id) for system, source, m in config.identity_mappings()]
    for source, item in [*config.touchpoint_streams(), *config.consent_statements()]:
        if item.table and not item.record_key:
            reads.append((config.identity_system(source, item), source, item.table, item.record))
    found = []
    with warehouse.session(config, read_only=True) as con:
        for system, source, table, expression in reads:
            relation = f"{source.raw_schema}.{table}"
            count = one(
                con,
                f"select count(*) from {relation} as source_rows where cast(({expression}) as varchar) in"
                " (select unnest(?::varchar[]))",
                ids.get(system, []),
            )[0]
            if count:
                found.append(f"{relation}: {count}")
    return found


def test_erasure_sticks_through_redelivery_and_spares_the_household(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """Erase one member of a household; re-deliver the same files, re-read the same SQLite tables and REST pages;
    run again: no trace of the person in the warehouse, any snapshot, Parquet file or the search index and serving
    store; the other member is intact; the suppressed rows are counted in the run report."""
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI

    from customer360 import pipeline
    from customer360.core import tombstones
    from customer360.core.config import load_config
    from customer360.serving.snapshots import published_snapshots

    run = copy_demo(demo_pipeline, tmp_path / "demo")
    with warehouse.session(run.config, read_only=True) as con:
        erased, neighbour = _household(con)
        before = _footprint(con, neighbour)
        target = _footprint(con, erased)
        # what identifies the person alone: their e-mail addresses and phone numbers no other customer has
        own = [
            r[0]
            for r in con.execute(
                """
                with identifiers as (
                    select r.record_key, v.value
                    from staging.int_identity_records as r, unnest([r.email_std, r.phone_e164]) as v(value)
                    where v.value is not null
                )
                select distinct value from identifiers where record_key in (select unnest(?::varchar[]))
                except
                select value from identifiers join marts.customer_identity_map as m using (record_key)
                where m.customer_id != ?
                """,
                [target["members"], erased],
            ).fetchall()
        ]
    assert len(published_snapshots(run.config)) >= 1
    needles = [*target["members"], *own]
    assert own and _raw_rows_of(run.config, target["members"]), "the person has data of their own to erase"

    subject = privacy.Subject(erased, f"customer {erased}")
    summary = pipeline.erase(run.config, subject, "test: Art. 17 request", requested_by="pytest")
    assert summary.exit_code == 0, summary.message
    report = summary.stages["scrub"]
    assert report.records == len(target["members"]) and report.tombstones >= report.records
    assert sum(report.raw_rows.values()) >= report.records
    assert not any(needle in json.dumps(report.summary()) for needle in [erased, *needles]), "the report names nobody"

    # the same deliveries again: files, the SQLite database, the helpdesk API
    service = run.config.source("service")
    with HelpdeskAPI(run.silos / "service") as api:
        config_file = run.config.file
        config_file.write_text(
            config_file.read_text(encoding="utf-8").replace(service.base_url, api.base_url), encoding="utf-8"
        )
        config = load_config(config_file)
        ctx = pipeline.RunContext.new(config)
        suppressed = 0
        for source in config.sources:
            for table in source.tables:
                reloaded = pipeline.ingest(ctx, sources=[source.name], reload=[f"{source.name}.{table.name}"])
                assert reloaded.ok, [m.text for m in reloaded.messages]
                suppressed += reloaded.rows_suppressed
        rerun = pipeline.run_pipeline(pipeline.RunContext.new(config), pipeline.default_stages())
    assert rerun.exit_code == 0, rerun.message
    assert report.records <= suppressed <= sum(report.raw_rows.values()), (
        "each erased record came back, and was suppressed"
    )

    with warehouse.session(config, read_only=True) as con:
        assert _footprint(con, neighbour) == before, "the other member of the household is untouched"
        assert all(count == 0 for count in _footprint(con, erased)["counts"].values())
        assert one(con, "select status from marts.customer_ids where customer_id = ?", erased)[0] == "retired"
    assert not _mentions(config.warehouse_path, needles)
    assert not _raw_rows_of(config, target["members"]), "no raw row is, or belongs to, an erased record"
    snapshots = published_snapshots(config)
    assert len(snapshots) >= 2, "the erasure scrubbed kept snapshots, not only the newest"
    for snapshot in snapshots:
        assert not _mentions(snapshot, [*needles, erased], skip=("customer_ids",)), snapshot.name
        index = sqlite3.connect(f"file:{snapshot}.search.sqlite?mode=ro", uri=True)
        try:
            assert not index.execute("select count(*) from profiles where customer_id = ?", [erased]).fetchone()[0]
        finally:
            index.close()
    for parquet in (config.data_path / "published" / "parquet").glob("r*/*.parquet"):
        assert not _mentions(parquet, [*needles, erased], skip=("customer_ids",)), parquet
    assert [e.subject for e in tombstones.erasures(config.state_dir)] == [report.subject]


def test_an_admin_erases_from_the_console_with_a_reason_and_a_second_confirmation(
    demo_pipeline, tmp_path: Path
) -> None:  # noqa: ANN001
    """The console's erase action: admins only, refused without a reason or when the ID typed again differs; then
    `c360 privacy erase` runs in its own process and the erasure log shows it, under a pseudonym."""
    from fastapi.testclient import TestClient
    from support.console import csrf_of, login, make_console_env

    from customer360.console.app import create_app
    from customer360.console.settings import ConsoleSettings

    env = make_console_env(copy_demo(demo_pipeline, tmp_path / "run"))
    with warehouse.session(env.config, read_only=True) as con:
        customer_id = one(con, "select min(customer_id) from marts.customer_360 where len(source_systems) >= 2")[0]
    app = create_app(
        env.config, ConsoleSettings(apply_decisions=False, snapshot_check_seconds=0, requests_per_minute=0)
    )
    with TestClient(app) as agent, TestClient(app) as admin:
        assert login(agent, *env.logins["agent"]).status_code == 303
        assert agent.get(f"/admin/privacy?customer={customer_id}").status_code == 403
        assert "Erase this customer" not in agent.get(f"/customers/{customer_id}?lang=en").text
        assert login(admin, *env.logins["admin"]).status_code == 303
        page = admin.get(f"/customers/{customer_id}?lang=en")
        assert "/admin/privacy?customer=" in page.text
        form = admin.get(f"/admin/privacy?customer={customer_id}&lang=en")
        assert form.status_code == 200 and "Type " + customer_id in form.text
        token = csrf_of(form.text)

        def erase(**fields: str) -> str:
            data = {"customer_id": customer_id, "csrf_token": token, **fields}
            return admin.post("/admin/privacy/erase", data=data, follow_redirects=True).text

        assert "Give the reason" in erase(reason=" ", confirm_id=customer_id)
        assert "does not match" in erase(reason="request 7", confirm_id="C000000000")
        assert app.state.console.erasures.job is None, "nothing started"
        assert "The erasure has started" in erase(reason="request 7 (test)", confirm_id=customer_id.lower())
        job = app.state.console.erasures.job
        assert job.process.wait(timeout=600) == 0, job.last_lines(20)
        log = admin.get("/admin/privacy?lang=en").text
        assert "The last erasure has finished" in log and "request 7 (test)" in log and "console:test-admin" in log
        assert customer_id not in log.split("Erasure log")[1], "the log names the subject by pseudonym only"
        app.state.console.snapshots.refresh(wait=True)
        assert admin.get(f"/api/v1/customers/{customer_id}").status_code == 404
    app.state.console.snapshots.close()


# -- restriction and objection -----------------------------------------------------------------------------------


def test_restriction_and_objection_apply_at_the_next_run_and_lift(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """A restricted customer (Art. 18) keeps the 360 view but gets no promotion and leaves the Parquet exports; an
    objection to profiling (Art. 21) is a consent statement and turns the derived prediction off; lifting the
    restriction brings the customer back."""
    from customer360 import pipeline
    from customer360.core import tombstones

    run = copy_demo(demo_pipeline, tmp_path / "run")
    config = run.config
    with warehouse.session(config, read_only=True) as con:
        promoted = one(con, "select min(customer_id) from marts.next_best_action where is_promotional")[0]
        dropping = one(con, "select min(customer_id) from marts.customer_360 where is_value_dropping")[0]
        assert promoted and dropping, "the demo has a promotion and a value drop"
        records = {
            customer: [
                r[0]
                for r in con.execute(
                    "select record_key from marts.customer_identity_map where customer_id = ?", [customer]
                ).fetchall()
            ]
            for customer in (promoted, dropping)
        }
    restriction = tombstones.add_request(config.state_dir, "restriction", None, records[promoted], "test", "pytest")
    tombstones.add_request(config.state_dir, "objection", "profiling", records[dropping], "test", "pytest")
    stages = [("marts", pipeline.marts), ("check_marts", pipeline.check_marts), ("publish", pipeline.publish)]

    def rebuild() -> Any:
        summary = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)
        assert summary.exit_code == 0, summary.message
        return summary.stages["publish"]

    published = rebuild()
    with warehouse.session(config, read_only=True) as con:
        action = one(
            con, "select is_promotional, suppressed_actions from marts.next_best_action where customer_id = ?", promoted
        )
        assert action[0] is False and any("processing restricted (Art. 18)" in s for s in action[1])
        assert one(con, "select is_processing_restricted from marts.customer_360 where customer_id = ?", promoted)[0]
        flags = one(
            con,
            "select objects_to_profiling, is_value_dropping from marts.customer_360 where customer_id = ?",
            dropping,
        )
        assert flags == (True, None)
        statement = one(
            con,
            "select consent_status, legal_basis, evidence_source from marts.customer_consent"
            " where customer_id = ? and purpose = 'profiling' and consent_channel = 'any'",
            dropping,
        )
        assert statement == ("opted_out", "objection (Art. 21 GDPR)", "customer360.privacy_requests")
    exported = duckdb.connect()
    parquet = published.parquet_dir / "dim_customer.parquet"
    assert one(exported, f"select count(*) from read_parquet('{parquet}') where customer_id = ?", promoted)[0] == 0
    snapshot = duckdb.connect(str(published.snapshot), read_only=True)
    assert one(snapshot, "select count(*) from marts.dim_customer where customer_id = ?", promoted)[0] == 1
    snapshot.close()

    assert tombstones.lift_request(config.state_dir, restriction, "pytest")
    published = rebuild()
    parquet = published.parquet_dir / "dim_customer.parquet"
    assert one(exported, f"select count(*) from read_parquet('{parquet}') where customer_id = ?", promoted)[0] == 1


# -- retention ---------------------------------------------------------------------------------------------------


def test_retention_deletes_history_not_the_present(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    """A year on, with every period short: replaced raw versions, old quarantine entries with the rows they held,
    older snapshots, the audit log and access exports are gone; the marts rebuilt from what is left are the same
    (the latest valid version of every record stays)."""
    from datetime import UTC, datetime, timedelta

    from customer360 import pipeline, retention
    from customer360.console.store import ConsoleStore
    from customer360.core.config import RetentionConfig
    from customer360.serving.snapshots import current_snapshot, published_snapshots

    run = copy_demo(demo_pipeline, tmp_path / "run")
    config = run.config.model_copy(
        update={
            "retention": RetentionConfig(
                replaced_raw_days=30,
                quarantine_days=30,
                snapshot_days=30,
                audit_days=30,
                report_days=30,
                export_days=30,
            )
        }
    )
    # history to expire: a shop customer moved (a second version of the record), the newsletter export read again
    # (the earlier delivery superseded)
    shop = sqlite3.connect(run.silos / "sales" / "shop.sqlite")
    with shop:
        shop.execute(
            "update customers set city = 'Neustadt', updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
            " where customer_id = (select min(customer_id) from customers)"
        )
    shop.close()
    ingested = pipeline.ingest(
        pipeline.RunContext.new(config), sources=["sales", "marketing"], reload=["marketing.contacts"]
    )
    assert ingested.ok, [m.text for m in ingested.messages]
    rebuild = [
        ("staging", pipeline.staging),
        ("resolve", pipeline.resolve),
        ("marts", pipeline.marts),
        ("publish", pipeline.publish),
    ]
    assert pipeline.run_pipeline(pipeline.RunContext.new(config), rebuild).exit_code == 0
    golden = "select * exclude (first_seen_at) from marts.dim_customer order by customer_id"
    with warehouse.session(config) as con:
        before = con.execute(golden).fetchall()
        versions = one(con, "select count(*) - count(distinct customer_id) from raw_sales.customers")[0]
        assert versions == 1, "the moved customer has two versions"
        held = one(con, "select _c360_batch_id, _c360_row_number from raw_marketing.contacts limit 1")
        con.execute(
            "insert into quarantine.marketing__contacts values (?, ?, 'test', 'gate', 'test_rule', 'held for the test',"
            " '{}', now() - interval 60 day, null)",
            list(held),
        )
    ConsoleStore.for_state_dir(config.state_dir).audit(None, "lookup", customer_id="C000000001", username="pytest")
    with warehouse.session(config, read_only=True) as con:
        export = privacy.access_export(con, config, privacy.find_subject(con, customer_id="C000000001"))
    privacy.write_export(export, config.data_path / "privacy" / "exports")
    assert len(published_snapshots(config)) >= 2

    report = retention.apply_retention(config, now=datetime.now(UTC) + timedelta(days=365))

    assert report.raw_rows["sales.customers"] == versions
    assert report.raw_rows["marketing.contacts"] > 1, "the superseded delivery and the row held in quarantine"
    assert report.quarantine_entries == 1 and report.audit_entries >= 1 and report.files >= 2
    assert published_snapshots(config) == [current_snapshot(config)], "every snapshot but the current one"
    with warehouse.session(config, read_only=True) as con:
        assert one(con, "select count(*) - count(distinct customer_id) from raw_sales.customers")[0] == 0
        assert one(con, "select count(*) from quarantine.marketing__contacts")[0] == 0
        assert (
            one(
                con,
                "select count(*) from raw_marketing.contacts where _c360_batch_id = ? and _c360_row_number = ?",
                *held,
            )[0]
            == 0
        )
    rebuilt = pipeline.run_pipeline(pipeline.RunContext.new(config), rebuild)
    assert rebuilt.exit_code == 0, rebuilt.message
    with warehouse.session(config, read_only=True) as con:
        after = con.execute(golden).fetchall()
    held_customer = [row for row in before if row not in after]
    assert len(held_customer) <= 1, "only the contact held in quarantine may change its customer"
