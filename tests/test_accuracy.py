"""Accuracy pinned per labelled data set (issue 14): a change that loses precision or recall on any data set the
suite can make fails here. The data sets and the measuring are `c360 bench-accuracy`'s (c360_devtools.accuracy),
at sizes that run in a few minutes on two cores: the demo (the session's demo run, 400 people), Gipfelwerk's silos
with their variety (400 people), FEBRL1, FEBRL2, FEBRL3, and FEBRL4 with the product's default spec (FEBRL4 with its
own spec is pinned by tests/test_examples.py).

Floors sit a little below what the product measured when they were set (the measured values are in the comments);
raise them as the model improves. Precision floors never go below 0.98: a false merge shows one person's data to
another.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from c360_devtools.accuracy import Options, Project, measure, run_dataset
from support.demo_pipeline import DEMO_PEOPLE, DEMO_SEED, DemoRun

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPTIONS = Options(demo_people=DEMO_PEOPLE, demo_seed=DEMO_SEED, strangers_people=400, strangers_seed=3, sweep=())
SWEPT = "febrl1"  # the threshold sweep is measured where it is cheapest
# data set → (precision floor, recall floor, most households merged). Measured when set (2026-12-07, spec customer-v4,
# the default threshold 0.9; the demo's own configuration says 0.9 too):
FLOORS: dict[str, tuple[float, float, int | None]] = {
    "demo": (0.99, 0.86, 0),  # precision 1.0000, recall 0.8806, no household merged
    "strangers": (0.99, 0.89, 0),  # precision 1.0000, recall 0.9130 (0.8551 at 0.99), no household merged
    "febrl1": (0.99, 0.84, None),  # precision 1.0000, recall 0.8500
    "febrl2": (0.99, 0.78, None),  # precision 1.0000, recall 0.7813
    "febrl3": (0.99, 0.745, None),  # precision 1.0000, recall 0.7516
    "febrl4-default": (0.99, 0.85, None),  # precision 1.0000, recall 0.8560
}


@pytest.fixture(scope="module", params=list(FLOORS))
def measured(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    name = request.param
    if name == "demo":  # the session's demo run (support/demo_pipeline.py) is this data set: measure it in place
        from customer360.core import warehouse

        run: DemoRun = request.getfixturevalue("demo_pipeline")
        project = Project(
            run.root / "customer360.yml", run.labels, run.silos / "kinds.csv", run.silos / "households.csv"
        )
        with warehouse.session(run.config, read_only=True) as con:
            result = {"name": name, **measure(con, project)}
    else:
        options = replace(OPTIONS, sweep=(0.5,)) if name == SWEPT else OPTIONS
        result = run_dataset(name, tmp_path_factory.mktemp(name), options)
    print(json.dumps({key: value for key, value in result.items() if not key.startswith("missed_by")}))
    return result


def _summary(result: dict[str, Any]) -> str:
    kinds = ", ".join(
        f"{entry['kind']} {entry['missed_pairs']}/{entry['true_pairs']}"
        for entry in result.get("missed_by_kind", [])[:6]
    )
    return (
        f"{result['name']}: precision {result.get('precision')}, recall {result.get('recall')}, "
        f"{result.get('false_merge_pairs')} false-merge pairs, {result.get('missed_pairs')} missed pairs"
        + (f"; missed by kind: {kinds}" if kinds else "")
        + (f"\n{result['error']}" if "error" in result else "")
    )


def test_the_pipeline_runs_and_every_record_is_labelled(measured: dict[str, Any]) -> None:
    assert "error" not in measured, measured.get("error")
    assert measured["records"] > 0
    assert measured["records_unlabelled"] == 0 and measured["labels_unmatched"] == 0, _summary(measured)


def test_precision_stays_above_its_floor(measured: dict[str, Any]) -> None:
    floor = FLOORS[measured["name"]][0]
    assert measured["precision"] >= floor, _summary(measured)


def test_recall_stays_above_its_floor(measured: dict[str, Any]) -> None:
    floor = FLOORS[measured["name"]][1]
    assert measured["recall"] >= floor, _summary(measured)


def test_households_stay_apart(measured: dict[str, Any]) -> None:
    most = FLOORS[measured["name"]][2]
    if most is None:  # FEBRL has no household truth: the measurement must not claim a household count
        assert "households_merged" not in measured, _summary(measured)
    else:
        assert measured["households_merged"] <= most, _summary(measured)


def test_the_review_loop_estimates_precision_from_answers(measured: dict[str, Any]) -> None:
    """The labels answer the review queue as a steward would: the report's precision interval at the configured
    threshold holds the measured precision."""
    review = measured["review"]
    assert review["answers"]["same"] > 0 and review["answers"]["different"] > 0, review
    low, high = review["estimated_precision_interval"]
    assert low is not None and low <= measured["precision"] <= high, (review, _summary(measured))


def test_the_missed_pairs_are_broken_down_by_kind_and_evidence(measured: dict[str, Any]) -> None:
    by_evidence = sum(row["missed_pairs"] for row in measured["missed_by_evidence"])
    assert by_evidence == measured["missed_pairs"]
    if measured["name"] in ("demo", "strangers"):
        kinds = {entry["kind"]: entry for entry in measured["missed_by_kind"]}
        assert sum(entry["true_pairs"] for entry in kinds.values()) >= measured["true_pairs"]
        assert all(entry["missed_pairs"] <= entry["true_pairs"] for entry in kinds.values())


def test_the_threshold_sweep_resolves_again_and_agrees_with_the_run(measured: dict[str, Any]) -> None:
    """c360 bench-accuracy resolves every data set again at other thresholds; its row at the configured threshold
    (resolved last) repeats the run's own figures, and a lower threshold links at least as many pairs."""
    sweep = {row["threshold"]: row for row in measured.get("sweep", [])}
    assert bool(sweep) == (measured["name"] == SWEPT), sorted(sweep)
    if sweep:
        configured = measured["threshold"]
        assert set(sweep) == {0.5, configured}
        assert {key: sweep[configured][key] for key in ("precision", "recall", "false_merge_pairs", "customers")} == {
            key: measured[key] for key in ("precision", "recall", "false_merge_pairs", "customers")
        }
        assert sweep[0.5]["customers"] <= sweep[configured]["customers"]
