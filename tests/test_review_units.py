"""The review loop's parts on synthetic data (fast): bands, the seeded and stratified queue, the Wilson interval,
precision / recall estimation and the threshold recommendation, answers in the state store, training m from
labels, and the console store's role migration."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import duckdb
import pytest

from customer360.core.decisions import add_review_answer, list_decisions, list_review_answers
from customer360.serving.review import CandidateRow, band_label, next_candidate, strata
from entity_resolution.review import (
    BAND_EDGES,
    _rank_sql,
    answers_needed,
    bands,
    build_strata,
    calibrate,
    estimate_at,
    wilson_interval,
)

# -- bands ---------------------------------------------------------------------------------------------------------


def test_bands_cover_zero_to_one_with_threshold_and_floor_as_edges() -> None:
    default = bands()
    assert [b.lower for b in default] == [0.0, *BAND_EDGES]
    assert default[-1].upper == 1.0 and all(a.upper == b.lower for a, b in zip(default, default[1:], strict=False))
    with_threshold = bands(threshold=0.97, floor=0.5)
    assert 0.97 in [b.lower for b in with_threshold] and len(with_threshold) == len(default) + 1
    assert bands(threshold=0.9, floor=0.5) == default  # already edges
    assert [b.label for b in default[:2]] + [default[-1].label] == ["< 0.1", "0.1–0.5", "≥ 0.999"]
    assert band_label(0.95, 0.99) == "0.95–0.99"


def test_sample_rank_is_seeded_uniform_and_stable() -> None:
    con = duckdb.connect()
    con.execute(
        "create table pairs as select 'a:' || i as record_key_l, 'b:' || i as record_key_r from range(20000) t(i)"
    )
    ranks = [row[0] for row in con.execute(f"select {_rank_sql()} from pairs order by record_key_l").fetchall()]
    again = [row[0] for row in con.execute(f"select {_rank_sql()} from pairs order by record_key_l").fetchall()]
    assert ranks == again and all(0 <= rank < 1 for rank in ranks)
    assert abs(sum(ranks) / len(ranks) - 0.5) < 0.01  # uniform: mean 1/2
    assert abs(sum(rank < 0.1 for rank in ranks) / len(ranks) - 0.1) < 0.01  # a rate-0.1 sample keeps ~10 %


# -- the queue -----------------------------------------------------------------------------------------------------


def candidate(
    left: str,
    band: int,
    lower: float,
    upper: float,
    pairs: float,
    vetoed: bool = False,
    rank: float = 0.5,
    probability: float | None = None,
    sampled: bool = True,
    gammas: dict[str, int] | None = None,
) -> CandidateRow:
    return CandidateRow(
        record_key_l=f"a:{left}",
        record_key_r=f"b:{left}",
        match_probability=probability if probability is not None else (lower + upper) / 2,
        band_id=band,
        band_lower=lower,
        band_upper=upper,
        band_pairs=pairs,
        is_sampled=sampled,
        guard_rail="different_first_names" if vetoed else None,
        sample_rank=rank,
        threshold=0.9,
        model_id="customer-v9-0123456789",
        gammas=gammas or {},
    )


def queue_world() -> list[CandidateRow]:
    rng = random.Random(3)
    rows = []
    for band, (lower, upper) in enumerate([(0.0, 0.5), (0.5, 0.9), (0.9, 1.0)]):
        for index in range(6):
            rows.append(candidate(f"{band}-{index}", band, lower, upper, 100, rank=rng.random()))
        rows.append(candidate(f"{band}-v", band, lower, upper, 100, vetoed=True, rank=rng.random()))
    rng.shuffle(rows)
    return rows


def test_next_pair_is_deterministic_stratified_and_skips_answered() -> None:
    rows = queue_world()
    answered: set[tuple[str, str]] = set()
    order = []
    for _ in range(len(rows)):
        chosen = next_candidate(rows, answered)
        assert chosen is not None and chosen.pair not in answered
        order.append(chosen)
        answered.add(chosen.pair)
    assert next_candidate(rows, answered) is None
    # the first pass visits every stratum once (band × vetoed), lowest band first, before any stratum gets a second
    first_pass = [(c.band_id, c.vetoed) for c in order[:6]]
    assert first_pass == [(0, False), (0, True), (1, False), (1, True), (2, False), (2, True)]
    # inside a stratum: smallest seeded rank first
    band_two = [c.sample_rank for c in order if c.band_id == 2 and not c.vetoed]
    assert band_two == sorted(band_two)
    # the same input in another order gives the same queue
    again, seen = [], set()
    shuffled = list(reversed(rows))
    while (chosen := next_candidate(shuffled, seen)) is not None:
        again.append(chosen.pair)
        seen.add(chosen.pair)
    assert again == [c.pair for c in order]


def test_answered_pairs_leave_the_queue_and_count_for_their_stratum() -> None:
    rows = queue_world()
    band_zero = sorted((c for c in rows if c.band_id == 0 and not c.vetoed), key=lambda c: c.sample_rank)
    answered = {c.pair for c in band_zero[:3]}
    chosen = next_candidate(rows, answered)
    assert chosen is not None and (chosen.band_id, chosen.vetoed) != (0, False)  # that stratum has answers already
    progress = {(p.band_id, p.vetoed): (p.candidates, p.answered) for p in strata(rows, answered)}
    assert progress[(0, False)] == (6, 3) and progress[(2, True)] == (1, 0)


# -- statistics ----------------------------------------------------------------------------------------------------


def test_wilson_interval_known_values() -> None:
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)  # Wilson's own textbook example
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(99.5, 100)  # effective (non-integer) sizes are fine
    assert 0.95 < low < 0.995 < high <= 1.0


def synthetic_world(true_share: dict[tuple[int, bool], float], sizes: dict[tuple[int, bool], int], answered: int):
    """Strata with a known share of true matches; `answered` answers per stratum drawn at that share."""
    edges = [(0.0, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 1.0)]
    rows, answers = [], {}
    for (band, vetoed), size in sizes.items():
        lower, upper = edges[band]
        band_size = sum(n for (b, _), n in sizes.items() if b == band)
        for index in range(size):
            row = candidate(f"{band}-{int(vetoed)}-{index}", band, lower, upper, band_size, vetoed=vetoed)
            rows.append(row)
            if index < answered:
                same = index < round(answered * true_share[(band, vetoed)])
                answers[row.pair] = "same" if same else "different"
    return rows, answers


def test_precision_and_recall_are_weighted_by_stratum_size() -> None:
    sizes = {(0, False): 400, (0, True): 100, (1, False): 50, (2, False): 100, (3, False): 1000, (3, True): 50}
    share = {(0, False): 0.05, (0, True): 0.0, (1, False): 0.6, (2, False): 0.9, (3, False): 1.0, (3, True): 0.2}
    rows, answers = synthetic_world(share, sizes, answered=20)
    layers = build_strata(rows, answers)
    assert {(s.band_id, s.vetoed): s.pairs for s in layers} == {key: float(n) for key, n in sizes.items()}

    at_09 = estimate_at(layers, 0.9)
    linked = 100 * 0.9 + 1000 * 1.0  # vetoed pairs are never linked
    assert at_09.linked_pairs == 1100
    assert at_09.precision == pytest.approx(linked / 1100)
    true_total = 400 * 0.05 + 50 * 0.6 + 100 * 0.9 + 1000 + 50 * 0.2
    assert at_09.recall == pytest.approx(linked / true_total)
    assert at_09.missed_pairs == pytest.approx(true_total - linked)
    assert at_09.precision_low < at_09.precision <= at_09.precision_high
    # Kish: n_eff = 1 / Σ W²/n with W = (100, 1000) / 1100 and n = 20 each
    assert at_09.effective_answers == pytest.approx(1 / (((100 / 1100) ** 2 + (1000 / 1100) ** 2) / 20))

    at_05 = estimate_at(layers, 0.5)
    assert at_05.precision == pytest.approx((50 * 0.6 + linked) / 1150)
    assert at_05.recall > at_09.recall


def test_strata_without_answers_are_named_not_guessed() -> None:
    sizes = {(2, False): 100, (3, False): 1000}
    rows, answers = synthetic_world({(2, False): 1.0, (3, False): 1.0}, sizes, answered=10)
    answers = {pair: a for pair, a in answers.items() if pair[0].startswith("a:3")}  # band 2 unanswered
    estimate = estimate_at(build_strata(rows, answers), 0.9)
    assert estimate.precision is None and estimate.recall is None
    assert estimate.missing == ["0.9–0.99"]
    assert estimate_at(build_strata(rows, answers), 0.99).precision == 1.0


def test_recommended_threshold_is_the_lowest_whose_lower_bound_reaches_the_target() -> None:
    sizes = {(0, False): 300, (1, False): 100, (2, False): 200, (3, False): 2000}
    share = {(0, False): 0.1, (1, False): 0.5, (2, False): 0.99, (3, False): 1.0}
    rows, answers = synthetic_world(share, sizes, answered=100)
    calibration = calibrate(rows, answers, target=0.95, floor=0.5, threshold=0.9)
    by_threshold = {e.threshold: e for e in calibration.thresholds}
    assert sorted(by_threshold) == [0.5, 0.9, 0.99]  # band edges at or above the floor (where links can form)
    assert by_threshold[0.5].precision_low < 0.95  # the 0.5–0.9 band is half wrong
    assert by_threshold[0.9].precision_low >= 0.95
    assert calibration.recommended_threshold == 0.9 and calibration.current is by_threshold[0.9]
    strict = calibrate(rows, answers, target=0.9999, floor=0.5, threshold=0.9)
    assert strict.recommended_threshold is None and strict.answers_needed is None or strict.answers_needed > 0
    bands_out = {b.band_id: b for b in calibration.bands}
    assert bands_out[1].share_same == 0.5 and bands_out[1].share_same_low < 0.5 < bands_out[1].share_same_high
    assert calibration.answers == {
        "same": sum(a == "same" for a in answers.values()),
        "different": sum(a == "different" for a in answers.values()),
        "unsure": 0,
    }


def test_estimate_brackets_the_truth_in_most_simulated_reviews() -> None:
    """Coverage: over many simulated stewards the 95 % interval holds the true precision (nearly) as often as it
    says — Wilson at Kish's effective size is close to nominal for stratified proportions."""
    rng = random.Random(7)
    sizes = {(2, False): 300, (3, False): 2000}
    share = {(2, False): 0.8, (3, False): 0.97}
    truth = (300 * 0.8 + 2000 * 0.97) / 2300
    rows, _ = synthetic_world(share, sizes, answered=0)
    pools = {stratum: [r for r in rows if (r.band_id, r.vetoed) == stratum] for stratum in sizes}
    covered = 0
    trials = 200
    for _ in range(trials):
        answers = {
            row.pair: "same" if rng.random() < share[stratum] else "different"
            for stratum, pool in pools.items()
            for row in rng.sample(pool, 40)
        }
        estimate = estimate_at(build_strata(rows, answers), 0.9)
        covered += estimate.precision_low <= truth <= estimate.precision_high
    assert covered / trials >= 0.9


def test_answers_needed_for_a_lower_bound() -> None:
    assert answers_needed(0.98, 0.99) is None
    n = answers_needed(1.0, 0.99)
    assert n is not None and wilson_interval(n, n)[0] >= 0.99 > wilson_interval(n - 1, n - 1)[0]
    assert 370 <= n <= 390  # z² · 0.99 / 0.01


def test_unsure_answers_and_unsampled_answered_pairs() -> None:
    rows = [candidate(str(i), 3, 0.99, 1.0, 1000) for i in range(10)]
    rows.append(candidate("kept", 3, 0.99, 1.0, 1000, sampled=False))  # answered earlier, outside today's sample
    answers = {rows[0].pair: "same", rows[1].pair: "unsure", rows[-1].pair: "different", ("x:1", "y:1"): "same"}
    (layer,) = build_strata(rows, answers)
    assert (layer.same, layer.different, layer.unsure) == (1, 1, 1)
    assert layer.pairs == 1000  # sizes come from sampled pairs only
    calibration = calibrate(rows, answers, floor=0.5, threshold=0.99)
    assert calibration.answers_not_in_candidates == 1 and any("not among" in note for note in calibration.notes)


# -- answers in the state store ----------------------------------------------------------------------------------


def test_answers_become_decisions_except_unsure(tmp_path: Path) -> None:
    same = add_review_answer(tmp_path, "sales:2", "sales:1", "same", "steward.sam", match_probability=0.97)
    assert (same.record_key_l, same.record_key_r) == ("sales:1", "sales:2") and same.decision_id is not None
    different = add_review_answer(tmp_path, "crm:1", "crm:2", "different", "steward.sam", "twins")
    unsure = add_review_answer(tmp_path, "crm:3", "crm:4", "unsure", "steward.sam")
    assert unsure.decision_id is None
    decisions = {(d.record_key_l, d.record_key_r): d for d in list_decisions(tmp_path)}
    assert decisions[("sales:1", "sales:2")].decision == "same"
    assert decisions[("crm:1", "crm:2")].decision_id == different.decision_id
    assert decisions[("crm:1", "crm:2")].reason == "twins"
    assert ("crm:3", "crm:4") not in decisions
    add_review_answer(tmp_path, "crm:2", "crm:1", "same", "steward.kim")  # changed mind: the latest answer counts
    latest = {(a.record_key_l, a.record_key_r): a.answer for a in list_review_answers(tmp_path)}
    assert latest == {("sales:1", "sales:2"): "same", ("crm:1", "crm:2"): "same", ("crm:3", "crm:4"): "unsure"}
    assert {d.decision for d in list_decisions(tmp_path) if d.record_key_l == "crm:1"} == {"same"}
    for bad in (("sales:1", "sales:1", "same"), ("sales:1", "x", "same"), ("sales:1", "sales:2", "maybe")):
        with pytest.raises(ValueError):
            add_review_answer(tmp_path, *bad, "steward.sam")


# -- training m from labels ------------------------------------------------------------------------------------


def _fake_model(tmp_path: Path):  # noqa: ANN202
    from entity_resolution.model import TrainedModel
    from entity_resolution.spec import load_spec

    spec_file = tmp_path / "tiny.yml"
    spec_file.write_text(
        """
name: tiny
version: 1
columns: [record_key, email_std, first_name_folded]
comparisons:
  - output_column_name: email
    levels:
      - NullLevel: { col_name: email_std }
      - ExactMatchLevel: { col_name: email_std, term_frequency_adjustments: true }
      - ElseLevel: {}
  - output_column_name: first_name
    levels:
      - NullLevel: { col_name: first_name_folded }
      - ExactMatchLevel: { col_name: first_name_folded }
      - ElseLevel: {}
        configure: { label_for_charts: different first name }
blocking_rules_to_generate_predictions: [[email_std]]
training:
  m_limits:
    first_name:
      "different first name": { max: 0.2 }
""",
        encoding="utf-8",
    )
    spec = load_spec(spec_file)
    folder = tmp_path / "models" / spec.key / f"{spec.key}-aaaaaaaaaa"
    folder.mkdir(parents=True)

    def levels(m: list[float | None]) -> list[dict]:
        return [
            {"sql_condition": "null", "is_null_level": True},
            {"sql_condition": "eq", "label_for_charts": "same", "m_probability": m[0], "u_probability": 0.01},
            {
                "sql_condition": "else",
                "label_for_charts": "different first name",
                "m_probability": m[1],
                "u_probability": 0.99,
            },
        ]

    settings = {
        "comparisons": [
            {"output_column_name": "email", "comparison_levels": levels([0.6, 0.4])},
            {"output_column_name": "first_name", "comparison_levels": levels([None, None])},  # EM never ran here
        ]
    }
    (folder / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    (folder / "training.json").write_text(json.dumps({"spec": spec.key, "records": 10}), encoding="utf-8")
    (folder / "tf_email_std.parquet").write_bytes(b"frozen")
    (folder.parent / "current").write_text(folder.name, encoding="utf-8")
    return TrainedModel(spec, folder)


def test_training_weights_labels_blends_with_the_model_and_saves_a_new_current_version(tmp_path: Path) -> None:
    from entity_resolution.model import current_model
    from entity_resolution.review import train_from_answers

    model = _fake_model(tmp_path)
    model_id = "tiny-v1-aaaaaaaaaa"
    rows, answers = [], {}
    # band 0: 1000 pairs, 10 answered same, all with a different e-mail; band 1: 10 pairs, 10 same, same e-mail
    for index in range(10):
        low = candidate(f"low{index}", 0, 0.9, 0.99, 1000, gammas={"email": 0, "first_name": 1})
        high = candidate(f"high{index}", 1, 0.99, 1.0, 10, gammas={"email": 1, "first_name": 1})
        rows += [low, high]
        answers[low.pair] = answers[high.pair] = "same"
    rows = [CandidateRow(**{**row.__dict__, "model_id": model_id}) for row in rows]
    trained = train_from_answers(model, rows, answers, prior_weight=20)

    assert trained.model_id != model.model_id and current_model(tmp_path / "models", model.spec) == trained
    assert (trained.folder / "tf_email_std.parquet").read_bytes() == b"frozen"
    email = {
        lvl["label_for_charts"]: lvl["m_probability"]
        for lvl in trained.settings["comparisons"][0]["comparison_levels"]
        if not lvl.get("is_null_level")
    }
    # weighted by stratum size, the labels say 99 % of matches have different e-mails (1000 vs 10 pairs)
    change = {c["level"]: c for c in trained.training_report["m_changes"] if c["comparison"] == "email"}
    assert change["different first name"]["m_from_labels"] == pytest.approx(1000 / 1010)
    n_eff = trained.training_report["effective_labels"]["email"]
    expected = (n_eff * 1000 / 1010 + 20 * 0.4) / (n_eff + 20)
    assert email["different first name"] == pytest.approx(expected)
    assert sum(email.values()) == pytest.approx(1.0)
    # first_name had no trained m: labels alone (Jeffreys' half pair per level), then the spec's m-limit
    first = [lvl["m_probability"] for lvl in trained.settings["comparisons"][1]["comparison_levels"][1:]]
    assert sum(first) == pytest.approx(1.0) and first[1] <= 0.2 + 1e-9
    report = trained.training_report
    assert report["trained_from"] == "review labels" and report["base_model"] == model.model_id
    assert report["review_labels"]["same_used"] == 20


def test_training_refuses_candidates_of_another_spec_and_no_labels(tmp_path: Path) -> None:
    from entity_resolution.review import ReviewTrainingError, train_from_answers

    model = _fake_model(tmp_path)
    row = candidate("1", 0, 0.9, 1.0, 10, gammas={"email": 1})
    with pytest.raises(ReviewTrainingError, match="spec"):
        train_from_answers(model, [row], {row.pair: "same"})
    row = CandidateRow(**{**row.__dict__, "model_id": "tiny-v1-bbbbbbbbbb"})
    with pytest.raises(ReviewTrainingError, match="same"):
        train_from_answers(model, [row], {row.pair: "different"})


# -- console roles -------------------------------------------------------------------------------------------------


def test_console_store_migrates_an_old_users_table_to_know_the_steward_role(tmp_path: Path) -> None:
    from customer360.console.store import ConsoleStore, console_db_path

    path = console_db_path(tmp_path)
    db = sqlite3.connect(path)
    db.execute(
        """create table users (username text primary key collate nocase, password_hash text not null,
           role text not null check (role in ('agent', 'analyst', 'admin')), display_name text, lang text,
           is_active integer not null default 1, created_at text not null, password_changed_at text not null)"""
    )
    db.execute("insert into users values ('old', 'x', 'agent', null, 'de', 1, '2026-01-01', '2026-01-01')")
    db.commit()
    db.close()
    store = ConsoleStore(path)
    assert store.get_user("old").role == "agent" and store.get_user("old").lang == "de"
    steward = store.add_user("sam", "correct-horse-battery", "steward")
    assert steward.can("review") and steward.can("view") and not steward.can("decide") and not steward.can("users")
    assert store.get_user("old").can("review") is False
    store.set_role("old", "admin")
    assert store.get_user("old").can("review")
    ConsoleStore(path)  # opening again changes nothing
    assert {u.username for u in store.list_users()} == {"old", "sam"}
