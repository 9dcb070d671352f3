"""The quality gate inside the pipeline, on the demo world: the demo passes; quarantined rows and rejected
batches stay out of staging; a rejected batch stops the run (exit code 4) before resolution and publishing."""

from __future__ import annotations

import duckdb
import pytest
from support.demo_pipeline import copy_demo
from support.quality import contact, contacts_csv

from customer360 import pipeline
from customer360.core.errors import EXIT_BLOCKED, EXIT_OK
from expectations.report import QualityReport
from expectations.runner import validate_marts

pytestmark = pytest.mark.integration


def rows(config, sql: str) -> list[tuple]:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_demo_passes_the_gate_and_little_is_quarantined(demo_pipeline):
    report = demo_pipeline.summary.stages["validate"]

    assert isinstance(report, QualityReport) and not report.blocked
    tables = report.tables()
    assert {"marketing.contacts", "sales.customers", "sales.orders", "service.tickets"} <= set(tables)
    checked = sum(t["checked"] for t in tables.values())
    held = sum(t["quarantined"] for t in tables.values())
    assert checked > 1000 and held <= 0.01 * checked
    assert not [m for b in report.batches for m in b.mismatches]
    assert report.docs is not None and report.docs.is_file()
    assert rows(
        demo_pipeline.config,
        "select count(*) from meta.batches where validated_at is null and status in ('loaded', 'empty')",
    ) == [(0,)]


def test_the_demo_marts_pass_their_suites(demo_pipeline, tmp_path):
    demo = copy_demo(demo_pipeline, tmp_path)

    report = validate_marts(demo.config, "marts-check")

    assert [m.table for m in report.marts] == ["customer_identity_map", "dim_customer", "customer_360"]
    assert all(m.rows > 0 for m in report.marts)
    assert not report.blocked, report.message()


def test_quarantined_rows_and_rejected_batches_stay_out_of_staging(demo_pipeline, tmp_path):
    demo = copy_demo(demo_pipeline, tmp_path)
    config = demo.config
    contacts = demo.silos / "marketing" / "contacts"
    stages = [
        ("ingest", lambda ctx: pipeline.ingest(ctx, sources=["marketing"])),  # the helpdesk stand-in is gone
        ("validate", pipeline.validate),
        ("staging", pipeline.staging),
    ]
    published = sorted(p.name for p in config.published_dir.rglob("*")) if config.published_dir.exists() else []

    # 1. one bad row in a delivery: quarantined, the rest of the delivery reaches staging
    good = [contact(900000 + i) for i in range(40)]
    good[3]["e_mail"] = "anna.mueller.gmx.de"
    (contacts / "newsletter_contacts_2027-01-01.csv").write_text(contacts_csv(good), encoding="utf-8")
    first = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)
    assert first.exit_code == EXIT_OK, first.message
    (held,) = rows(
        config,
        "select _c360_batch_id, _c360_row_number, _c360_rule from quarantine.marketing__contacts "
        "where _c360_stage = 'quality' and _c360_released_at is null",
    )
    batch = held[0]
    staged = set(rows(config, f"select batch_row_number from staging.stg_identity__records where batch_id = '{batch}'"))
    assert held[2] == "e_mail_format" and (held[1],) not in staged and len(staged) == 39

    # 2. a delivery whose layout changed: rejected, the run stops with exit code 4, nothing is published
    changed = [{**contact(910000 + i), "fax": "040 1"} for i in range(40)]
    (contacts / "newsletter_contacts_2027-02-01.csv").write_text(contacts_csv(changed, extra={"Fax": "fax"}), "utf-8")
    blocked = pipeline.run_pipeline(pipeline.RunContext.new(config), [*stages, ("publish", pipeline.publish)])
    assert (blocked.status, blocked.exit_code) == ("blocked", EXIT_BLOCKED)
    assert "new column(s) fax" in (blocked.message or "")
    assert "staging" not in blocked.stages and "publish" not in blocked.stages
    after = sorted(p.name for p in config.published_dir.rglob("*")) if config.published_dir.exists() else []
    assert after == published
    (rejected,) = rows(config, "select batch_id from meta.batches where status = 'rejected'")
    assert rows(config, f"select count(*) from raw_marketing.contacts where _c360_batch_id = '{rejected[0]}'") == [
        (40,)
    ]
    assert rows(config, "select status from meta.runs order by started_at desc limit 1") == [("blocked",)]

    # 3. the next run goes on without the rejected batch: staging leaves all of its rows out
    again = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)
    assert again.exit_code == EXIT_OK, again.message
    assert rows(config, f"select count(*) from staging.stg_identity__records where batch_id = '{rejected[0]}'") == [
        (0,)
    ]
    assert again.stages["validate"].batches == []
