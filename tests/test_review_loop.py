"""The review loop end to end on the session's demo run: candidates from the resolution stage and the published
mart, a stand-in steward answering from the demo's labels (labels.csv says which records are one person), the
report bracketing the true precision of `c360 evaluate --labels`, training a new model from the answers, and the
next run obeying them.

Integration: real DuckDB, dbt, Splink (tests/support/demo_pipeline.py), on private copies of the demo run.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import duckdb
import pytest
from support.demo_pipeline import DemoRun, copy_demo
from typer.testing import CliRunner

from customer360 import pipeline
from customer360.cli import app
from customer360.core.decisions import add_review_answer, list_decisions, list_review_answers
from customer360.serving.review import load_candidates, next_candidate
from customer360.serving.snapshots import current_snapshot

pytestmark = pytest.mark.integration


def c360(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


def truth(run: DemoRun) -> dict[str, str]:
    with run.labels.open(encoding="utf-8") as handle:
        return {f"{row['source_system']}:{row['source_record_id']}": row["entity_id"] for row in csv.DictReader(handle)}


def steward_answers(run: DemoRun, count: int, by: str = "labels") -> int:
    """A stand-in steward: answers the queue's next `count` pairs from the demo's labels."""
    people = truth(run)
    with duckdb.connect(str(current_snapshot(run.config)), read_only=True) as con:
        candidates = load_candidates(con)
    given = 0
    for _ in range(count):
        answered = {(a.record_key_l, a.record_key_r) for a in list_review_answers(run.config.state_dir)}
        chosen = next_candidate(candidates, answered)
        if chosen is None:
            break
        left, right = people.get(chosen.record_key_l), people.get(chosen.record_key_r)
        answer = "unsure" if left is None or right is None else "same" if left == right else "different"
        add_review_answer(run.config.state_dir, *chosen.pair, answer, by, match_probability=chosen.match_probability)
        given += 1
    return given


@pytest.fixture(scope="module")
def reviewed(demo_pipeline: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    run = copy_demo(demo_pipeline, tmp_path_factory.mktemp("review"))
    steward_answers(run, 120)
    return run


# -- candidates ----------------------------------------------------------------------------------------------------


def test_resolution_samples_candidates_in_every_band_and_publishes_them(demo_pipeline: DemoRun) -> None:
    with duckdb.connect(str(demo_pipeline.config.warehouse_path), read_only=True) as con:
        stored = con.execute("select count(*), min(match_probability) from entity_resolution.pairs").fetchone()
        bands = con.execute(
            """
            select band_id, band_lower, band_upper, any_value(band_pairs), count(*), bool_and(is_sampled),
                   min(match_probability), max(match_probability)
            from entity_resolution.review_candidates group by all order by band_id
            """
        ).fetchall()
        low = con.execute("select count(*), max(match_probability) from entity_resolution.review_low_pairs").fetchone()
        evidence_labels = con.execute(
            "select distinct e.level_label from entity_resolution.review_candidates, unnest(evidence) as t(e)"
        ).fetchall()
    assert [b[1] for b in bands][:3] == [0.0, 0.1, 0.5] and bands[-1][2] == 1.0
    for _, lower, upper, _, _, _, smallest, largest in bands:
        assert lower <= smallest and (largest < upper or upper == 1.0)
    # at or above the stored floor (0.5) band sizes are exact and add up to the pairs table
    assert sum(b[3] for b in bands if b[1] >= 0.5) == stored[0] and stored[1] >= 0.5
    # below it they come from the seeded sample of all blocked pairs (the demo is small: the sample is all of them)
    assert low[0] > 0 and low[1] < 0.5
    assert sum(b[3] for b in bands if b[1] < 0.5) == low[0]
    assert all(b[5] for b in bands)  # nothing answered yet: every candidate was drawn by its band's sample
    assert not [label for (label,) in evidence_labels if label.startswith("level ")]  # every level has its label

    with duckdb.connect(str(current_snapshot(demo_pipeline.config)), read_only=True) as con:
        published = con.execute(
            "select count(*), count(full_name_l), count(full_name_r), count(source_system_r) from marts.review_candidates"
        ).fetchone()
    assert published[0] == sum(b[4] for b in bands) and published[0] == published[3]
    assert published[1] > 0.9 * published[0] and published[2] > 0.9 * published[0]


def test_candidates_are_deterministic(demo_pipeline: DemoRun, tmp_path: Path) -> None:
    from entity_resolution.model import current_model
    from entity_resolution.resolve import STORE_THRESHOLD
    from entity_resolution.review import build_review_candidates
    from entity_resolution.spec import find_spec, load_spec

    run = copy_demo(demo_pipeline, tmp_path)
    config = run.config
    spec = load_spec(find_spec(config.resolution.spec, config.root))
    model = current_model(config.resolve_path(config.resolution.model_dir), spec)
    threshold = config.resolution.match_probability_threshold
    query = "select record_key_l, record_key_r, band_id, sample_rank, is_sampled from entity_resolution.review_candidates order by all"
    with duckdb.connect(str(config.warehouse_path)) as con:
        before = con.execute(query).fetchall()
        first = before[0]
        add_review_answer(config.state_dir, first[0], first[1], "same", "test")
        low = "select * from entity_resolution.review_low_pairs order by record_key_l, record_key_r"
        low_before = con.execute(low).fetchall()
        con.execute("create or replace temp table removed_records (record_key varchar)")
        # a full rebuild; an incremental one with nothing changed; and one that redoes the pairs of 40 records as if
        # they had changed: each gives the same sample and candidates
        for full, changed in ((True, 0), (False, 0), (False, 40)):
            con.execute(
                "create or replace temp table changed_records as"
                f" select record_key from entity_resolution.records order by md5(record_key) limit {changed}"
            )
            build_review_candidates(con, model, "again", config.state_dir, threshold, STORE_THRESHOLD, full)
            assert con.execute(query).fetchall() == before
            assert con.execute(low).fetchall() == low_before


# -- the loop --------------------------------------------------------------------------------------------------


def test_interactive_loop_answers_the_queue_in_order(demo_pipeline: DemoRun, tmp_path: Path) -> None:
    run = copy_demo(demo_pipeline, tmp_path)
    with duckdb.connect(str(current_snapshot(run.config)), read_only=True) as con:
        candidates = load_candidates(con)
    expected, answered = [], set()
    for _ in range(3):
        chosen = next_candidate(candidates, answered)
        expected.append(chosen.pair)
        answered.add(chosen.pair)

    output = c360("review", "--by", "sam", "-c", str(run.config.file), input="s\nx\nd\nu\nq\n")
    assert "evidence" in output and "3 answer(s) recorded by sam" in output
    answers = list_review_answers(run.config.state_dir)
    assert [(a.record_key_l, a.record_key_r) for a in answers] == expected
    assert [a.answer for a in answers] == ["same", "different", "unsure"]
    assert all(a.answered_by == "sam" and a.match_probability is not None for a in answers)
    assert len(list_decisions(run.config.state_dir)) == 2  # unsure records no decision

    left, right = candidates[-1].pair
    output = c360(
        "review", "answer", right, left, "different", "--by", "kim", "--reason", "twins", "-c", str(run.config.file)
    )
    assert "decision" in output
    latest = list_review_answers(run.config.state_dir)[-1]
    assert (latest.record_key_l, latest.answer, latest.reason) == (left, "different", "twins")
    result = CliRunner().invoke(app, ["review", "answer", left, right, "maybe", "-c", str(run.config.file)])
    assert result.exit_code == 2


def test_report_brackets_the_true_precision(reviewed: DemoRun) -> None:
    config = str(reviewed.config.file)
    report = json.loads(c360("review", "report", "--json", "-c", config))
    current = report["current"]
    assert report["threshold"] == reviewed.config.resolution.match_probability_threshold
    assert sum(report["answers"].values()) == 120
    assert current["precision"] is not None and current["recall"] is not None, current["missing"]

    evaluation = c360("evaluate", "--labels", str(reviewed.labels), "-c", config)
    precision = float(re.search(r"precision \(pairwise\)\s*│\s*([0-9.]+)", evaluation).group(1))
    assert current["precision_low"] <= precision <= current["precision_high"], (current, precision)

    # every band with pairs has answers, and the report is also written as JSON
    assert all(band["same"] + band["different"] + band["unsure"] > 0 for band in report["bands"])
    written = json.loads((reviewed.config.reports_dir / "review" / "latest.json").read_text(encoding="utf-8"))
    assert written["current"] == current
    table = c360("review", "report", "--target", "0.9", "-c", config)
    assert "share same" in table and "recommended" in table or "no threshold reaches" in table

    # c360 evaluate without labels: the answers against the current customers
    answers_only = c360("evaluate", "-c", config)
    assert "accuracy against the review answers" in answers_only and "precision (pairwise)" not in answers_only


def test_training_from_answers_makes_a_new_current_model_the_next_run_uses(reviewed: DemoRun, tmp_path: Path) -> None:
    from entity_resolution.model import current_model
    from entity_resolution.spec import find_spec, load_spec

    run = copy_demo(reviewed, tmp_path)
    config = run.config
    spec = load_spec(find_spec(config.resolution.spec, config.root))
    model_dir = config.resolve_path(config.resolution.model_dir)
    before = current_model(model_dir, spec)

    output = c360("review", "train", "-c", str(config.file))
    after = current_model(model_dir, spec)
    assert after.model_id != before.model_id and after.model_id in output
    report = after.training_report
    same = sum(1 for a in list_review_answers(config.state_dir) if a.answer == "same")
    assert report["trained_from"] == "review labels" and report["review_labels"]["same"] == same
    assert report["review_labels"]["same_used"] == same and report["base_model"] == before.model_id
    assert {path.name for path in after.folder.iterdir()} == {path.name for path in before.folder.iterdir()}
    assert after.settings != before.settings

    # an answer that contradicts the customers: "different" for two records of one customer that no other answer
    # involves (so that no "same" answer chains them together again)
    involved = {key for a in list_review_answers(config.state_dir) for key in (a.record_key_l, a.record_key_r)}
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        together = con.execute(
            """
            select record_key_l, record_key_r from entity_resolution.review_candidates
            where is_same_customer order by sample_rank
            """
        ).fetchall()
    pair = next(p for p in together if not involved & set(p))
    add_review_answer(config.state_dir, *pair, "different", "test", "not the same person after all")
    ctx = pipeline.RunContext.new(config)
    summary = pipeline.run_pipeline(ctx, [("resolve", pipeline.resolve)])
    assert summary.exit_code == 0, summary.message
    resolution = summary.stages["resolve"]
    assert resolution.model_id == after.model_id and resolution.mode == "full"
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        customers = dict(con.execute("select record_key, customer_id from entity_resolution.identity_map").fetchall())
        obeyed = dict(
            con.execute(
                """
                select (decisions.record_key_l, decisions.record_key_r), links.is_accepted
                from entity_resolution.decisions as decisions
                left join entity_resolution.links as links using (record_key_l, record_key_r)
                where decisions.decision = 'same'
                """
            ).fetchall()
        )
    assert customers[pair[0]] != customers[pair[1]], "the run obeys the steward's 'different'"
    same = [(a.record_key_l, a.record_key_r) for a in list_review_answers(config.state_dir) if a.answer == "same"]
    # every 'same' is a must-link decision of the run, accepted as a link whatever the guard rails say
    assert all(obeyed.get(pair) for pair in same), [pair for pair in same if not obeyed.get(pair)]

    # c360 evaluate: answers recorded before this run were applied as decisions and agree by construction
    evaluation = c360("evaluate", "-c", str(config.file))
    assert "applied as decisions" in evaluation
