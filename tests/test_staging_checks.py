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
