"""A run with nothing new stops after the quality gate (customer360/changes.py), on a copy of the demo pipeline:
it skips staging to publishing and leaves the published snapshot as it was; a decision makes the next run build
again, as does `--full`; a privacy request or a changed project file moves the fingerprint it compares."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.demo_pipeline import copy_demo

from customer360 import changes, pipeline
from customer360.core import decisions, tombstones, warehouse
from customer360.serving.snapshots import current_snapshot

pytestmark = pytest.mark.integration


def run(config, full: bool = False) -> pipeline.RunSummary:  # noqa: ANN001
    """The whole chain but ingestion (the copy's helpdesk stand-in is gone; nothing new arrives anyway)."""
    stages = [stage for stage in pipeline.default_stages(full=full) if stage[0] != "ingest"]
    summary = pipeline.run_pipeline(pipeline.RunContext.new(config), stages)
    assert summary.exit_code == 0, summary.message
    return summary


def test_nothing_new_skips_to_retention_and_anything_new_builds(demo_pipeline, tmp_path: Path) -> None:  # noqa: ANN001
    config = copy_demo(demo_pipeline, tmp_path / "demo").config
    first = run(config)
    assert not first.stages["changes"].nothing_new, "the copy's customer360.yml names other paths: it changed"
    published = current_snapshot(config)

    idle = run(config)
    assert idle.stages["changes"].nothing_new
    assert list(idle.stages) == ["check", "validate", "changes", "retention", "inputs"]
    assert current_snapshot(config) == published, "nothing was published"

    with warehouse.session(config, read_only=True) as con:
        left, right = con.execute(
            "select min(record_key), max(record_key) from marts.customer_identity_map group by customer_id"
            " having count(*) = 2 order by 1 limit 1"
        ).fetchone()
    decisions.add_decision(config.state_dir, left, right, "different", "pytest", "not the same person")
    decided = run(config)
    assert not decided.stages["changes"].nothing_new and "publish" in decided.stages
    assert current_snapshot(config) != published
    with warehouse.session(config, read_only=True) as con:
        customers = con.execute(
            "select count(distinct customer_id) from marts.customer_identity_map where record_key in (?, ?)",
            [left, right],
        ).fetchone()[0]
    assert customers == 2, "the decision split them"
    assert run(config).stages["changes"].nothing_new, "the run after it has nothing new again"
    assert "publish" in run(config, full=True).stages, "--full builds though nothing is new"

    # every other kind of input moves the fingerprint the `changes` stage compares (the runs above show that a moved
    # fingerprint builds and an unmoved one skips)
    idle_fingerprint = changes.detect_changes(config).fingerprint
    with warehouse.session(config) as con:  # a source that could not be read: recorded, nothing loaded, nothing new
        con.execute(
            "insert into meta.batches select * replace ('failed-read' as batch_id, 'failed' as status, 0 as rows_loaded)"
            " from meta.batches limit 1"
        )
    assert changes.detect_changes(config).nothing_new, "a failed read"
    tombstones.add_request(config.state_dir, "restriction", None, [left], "test", "pytest")
    requested = changes.detect_changes(config)
    assert not requested.nothing_new and requested.fingerprint != idle_fingerprint, "a privacy request"
    rules = config.resolve_path(config.rules.next_best_action)
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    edited = changes.detect_changes(config)
    assert edited.fingerprint not in {idle_fingerprint, requested.fingerprint}, "a project file"
    rules.write_text(rules.read_text(encoding="utf-8").removesuffix("\n# edited\n"), encoding="utf-8")
    assert changes.detect_changes(config).fingerprint == requested.fingerprint, "the fingerprint reads content"
    assert not changes.detect_changes(config, full=True).nothing_new
