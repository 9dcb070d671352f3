"""Before and at staging, on Gipfelwerk's silos (issue 15): `c360 check` (the first stage of every run) finds a
mistyped column in seconds, naming the key; rows staging cannot use are quarantined with their reason, never dropped
without a trace (helpdesk cases whose requester has no contact id, the identity mapping's `source_record_id`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.configs import query
from support.strangers import write_project

from customer360 import pipeline
from customer360.core.config import load_config
from expectations.release import release

pytestmark = pytest.mark.integration


def test_identity_rows_without_their_id_are_quarantined_with_the_reason(tmp_path: Path) -> None:
    config_file = write_project(tmp_path / "project", "three_silos", people=80)
    export = tmp_path / "project/silos/supportdesk/export.json"
    dump = json.loads(export.read_text(encoding="utf-8"))
    cases = dump["data"]["cases"]
    for case in cases[:3]:
        del case["raised_by"]["contact_ref"]  # the helpdesk lost who raised them
    export.write_text(json.dumps(dump), encoding="utf-8")
    config = load_config(config_file)

    stages = [(name, stage) for name, stage in pipeline.default_stages() if name in ("ingest", "validate", "staging")]
    summary = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)

    assert summary.exit_code == 0, summary.message
    held = query(
        config,
        "select json_extract_string(_c360_record, '$.case_no'), _c360_stage, _c360_reason from quarantine.service__cases"
        " where _c360_rule = 'identity_id_missing' order by 1",
    )
    assert [case_no for case_no, _, _ in held] == sorted(case["case_no"] for case in cases[:3])
    assert all(stage == "staging" and "raised_by ->> 'contact_ref'" in reason for _, stage, reason in held)
    (raw,) = query(config, "select count(*) from raw_service.cases")[0]
    (staged,) = query(config, "select count(*) from staging.stg_identity__records where source_system = 'service'")[0]
    assert raw == len(cases) and staged + len(held) == raw  # every delivered case: a record or held with a reason

    # released unchanged, the rows come back at the next run: their id is still empty
    released = release(config, "service.cases", rule="identity_id_missing")
    assert released.released == 3
    again = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)
    assert again.exit_code == 0, again.message
    assert query(
        config,
        "select count(*) filter (where _c360_released_at is null), count(*) from quarantine.service__cases"
        " where _c360_rule = 'identity_id_missing'",
    ) == [(3, 6)]


def test_empty_identities_control_characters_and_overlong_values_are_held_with_their_rule(tmp_path: Path) -> None:
    """A requester with an id but nothing else became an empty customer; a NUL byte and a 10,000-character name
    reached the published marts. Now each such row is held with its rule and nothing else changes."""
    config_file = write_project(tmp_path / "project", "three_silos", people=80)
    export = tmp_path / "project/silos/supportdesk/export.json"
    dump = json.loads(export.read_text(encoding="utf-8"))
    cases = [case for case in dump["data"]["cases"] if case["raised_by"].get("contact_ref")]
    empty, nul, long, fine = cases[0], cases[1], cases[2], cases[3]
    empty["raised_by"] = {"contact_ref": empty["raised_by"]["contact_ref"], "display_name": " ", "mail": None}
    nul["raised_by"]["display_name"] = "Anna\u0000 Berg"
    long["raised_by"]["display_name"] = "A" * 10_000
    fine["raised_by"]["display_name"] = "Zoë\tMüller-Lüdenscheidt"  # a tab is not a control character here
    fine["raised_by"]["mail"] = "zoe(at)example.de"  # blanked by standardisation: counted, not held
    export.write_text(json.dumps(dump), encoding="utf-8")
    # a stream whose configured id is often empty: those touchpoints are left out by standardisation, and counted
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(
        text.replace(
            "      cases:\n        kind: ticket\n", "      cases:\n        kind: ticket\n        id: order_ref\n", 1
        )
    )
    config = load_config(config_file)

    stages = [(name, stage) for name, stage in pipeline.default_stages() if name in ("ingest", "validate", "staging")]
    summary = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)

    assert summary.exit_code == 0, summary.message
    (without_order_ref,) = query(
        config,
        "select count(*) from raw_service.cases anti join (select * from quarantine.service__cases "
        "where _c360_released_at is null) using (_c360_batch_id, _c360_row_number) where order_ref is null",
    )[0]
    assert without_order_ref > 0
    assert summary.stages["staging"].dropped == {"touchpoints:cases:id_missing": without_order_ref}
    held = query(
        config,
        "select json_extract_string(_c360_record, '$.case_no'), _c360_rule, _c360_reason from quarantine.service__cases"
        " where _c360_stage = 'staging' order by 2",
    )
    assert [(case_no, rule) for case_no, rule, _ in held] == [
        (nul["case_no"], "control_characters"),
        (empty["case_no"], "identity_empty"),
        (long["case_no"], "value_too_long"),
    ]
    assert "longer than 200 characters (quality.max_identity_value_length)" in held[2][2]
    assert all(reason.startswith("identity mapping of service.cases: ") for _, _, reason in held)
    staged = query(config, "select source_record_id from staging.stg_identity__records where source_system = 'service'")
    refs = {ref for (ref,) in staged}
    assert fine["raised_by"]["contact_ref"] in refs
    report = summary.stages["staging"]
    assert report.held == {"control_characters": 1, "identity_empty": 1, "value_too_long": 1}
    blanked = query(
        config,
        "select count(*) filter (where list_contains(blanked_values, 'email:malformed_or_placeholder')), "
        "count(*) filter (where source_record_id = ? and email_std is null "
        "and list_contains(blanked_values, 'email:malformed_or_placeholder')) from staging.int_identity_records",
        [fine["raised_by"]["contact_ref"]],
    )[0]
    assert blanked[1] == 1 and report.blanked["email:malformed_or_placeholder"] == blanked[0]
    (raw,) = query(config, "select count(*) from raw_service.cases")[0]
    (without_id,) = query(
        config, "select count(*) from quarantine.service__cases where _c360_rule = 'identity_id_missing'"
    )[0]
    (rows,) = query(config, "select count(*) from staging.stg_identity__records where source_system = 'service'")[0]
    assert rows + len(held) + without_id == raw  # every delivered case: a record or held with a reason


def test_check_names_a_mistyped_column_before_anything_is_read(tmp_path: Path) -> None:
    config_file = write_project(tmp_path / "project", "three_silos", people=40)
    config = load_config(config_file)
    stages = [(name, stage) for name, stage in pipeline.default_stages() if name in ("check", "ingest")]
    assert pipeline.run_pipeline(pipeline.RunContext.new(config), stages).exit_code == 0
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text.replace("first_name: vorname", "first_name: vornam", 1), encoding="utf-8")

    checked = subprocess.run(
        [str(Path(sys.executable).with_name("c360")), "check", "--config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**{key: value for key, value in os.environ.items() if not key.startswith("C360_")}, "COLUMNS": "300"},
    )

    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "sources[marketing].identity[mitglieder].first_name: 'vornam' on marketing.mitglieder" in checked.stderr
    assert "Traceback" not in checked.stderr
    summary = pipeline.run_pipeline(pipeline.RunContext.new(load_config(config_file)), pipeline.default_stages())
    assert summary.exit_code == 2 and list(summary.seconds) == []  # the run stops at its first stage
