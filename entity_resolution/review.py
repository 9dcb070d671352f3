"""The review loop: clerical review that calibrates identity resolution (docs/entity-resolution.md, "Review loop").

Nobody knows on day one which threshold fits their data, and no labels exist. A data steward answers same /
different / unsure for candidate pairs; the answers become decisions (customer360.core.decisions) and labels. This
module holds the three parts that need the resolution stage or the model:

1. **Candidates** (`build_review_candidates`, run by every resolution): a sample of scored pairs in every band of
   match probability, written to entity_resolution.review_candidates with each pair's band, the band's size, the
   guard rail that would veto it and the evidence (level label and match weight per comparison). The pairs table
   keeps only pairs at or above `STORE_THRESHOLD` (0.5), so pairs below it are sampled separately: a seeded
   Bernoulli sample of all blocked pairs (entity_resolution.review_low_pairs, kept up to date incrementally like
   the pairs), scored with the same model and frozen term-frequency tables. Without them recall could not be
   estimated.
2. **Calibration** (`calibrate`): per band the share of `same` among answered pairs with a Wilson 95 % interval;
   estimated pairwise precision and recall at each band edge; the lowest threshold whose precision (the interval's
   lower bound) reaches a target.
3. **Training** (`train_from_answers`): m-probabilities re-estimated from the pairs answered `same`, weighted by
   how many pairs each stands for, blended with the current model, saved as a new model version.

Bands (edges on the match probability; the run's threshold and the stored-pairs floor are always edges):

    < 0.1 | 0.1–0.5 | 0.5–0.8 | 0.8–0.9 | 0.9–0.95 | 0.95–0.99 | 0.99–0.999 | ≥ 0.999

In match weight (log2 odds) the edges are −3.2, 0, 2, 3.2, 4.2, 6.6 and 10 bits: about one to three bits apart
where thresholds are chosen, one wide band for the bulk of clear matches, and two below 0.5 — the ambiguous pairs
the model rejects (where missed matches are) and the clear non-matches. Sampling is stratified by band because
pairs are anything but uniform: most scored pairs are clear matches or clear non-matches, and a uniform sample
would spend every answer there.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb

from customer360.core.decisions import list_review_answers
from customer360.core.warehouse import table_exists
from customer360.serving.review import CandidateRow, Pair, band_label
from entity_resolution.clustering import cannot_link_predicate
from entity_resolution.explain import level_labels
from entity_resolution.model import TrainedModel, load_linker, save_model_version, splink_api

log = logging.getLogger(__name__)

ER = "entity_resolution"
BAND_EDGES = (0.1, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
# Candidates kept per band per run (a seeded sample when a band is larger): plenty for review, small to publish.
CANDIDATES_PER_BAND = 1000
# Pairs below the stored-pairs floor kept (a seeded Bernoulli sample of every blocked pair below it).
LOW_SAMPLE_TARGET = 5000
REVIEW_SEED = "c360-review-1"
Z_95 = 1.959963984540054
DEFAULT_TARGET = 0.99
DEFAULT_PRIOR_WEIGHT = 20.0


# -- bands ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    band_id: int
    lower: float
    upper: float  # exclusive, except for the top band (which includes 1)

    @property
    def label(self) -> str:
        return band_label(self.lower, self.upper)


def bands(threshold: float | None = None, floor: float | None = None) -> list[Band]:
    """The review bands: BAND_EDGES plus the threshold and the stored-pairs floor as edges."""
    edges = sorted({*BAND_EDGES, *(value for value in (threshold, floor) if value is not None and 0 < value < 1)})
    return [Band(index, lower, upper) for index, (lower, upper) in enumerate(pairwise([0.0, *edges, 1.0]))]


def _band_sql(column: str, band_list: list[Band]) -> str:
    cases = " ".join(f"when {column} < {band.upper!r} then {band.band_id}" for band in band_list[:-1])
    return f"case {cases} else {band_list[-1].band_id} end"


def _rank_sql(left: str = "record_key_l", right: str = "record_key_r") -> str:
    """A seeded pseudo-random number in [0, 1) per pair: stable across runs, machines and DuckDB versions (md5)."""
    return f"(('0x' || left(md5('{REVIEW_SEED}|' || {left} || '|' || {right}), 13))::bigint / 4503599627370496.0)"


# -- 1. candidates (resolution stage) ----------------------------------------------------------------------------


def build_review_candidates(
    con: duckdb.DuckDBPyConnection,
    model: TrainedModel,
    run_id: str,
    state_dir: Path,
    threshold: float,
    floor: float,
    full: bool,
    changed_table: str = "changed_records",
    removed_table: str = "removed_records",
) -> int:
    """(Re)write entity_resolution.review_candidates for this run; returns its row count.

    `floor` is the stored-pairs floor: entity_resolution.pairs holds every scored pair at or above it, the low-band
    sample everything below. `changed_table` / `removed_table` (record_key) name what an incremental run changed."""
    band_list = bands(threshold, floor)
    evidence_columns = [column for column in _columns(con, f"{ER}.pairs") if column.startswith(("gamma_", "mw_"))]
    rate = _refresh_low_sample(con, model, floor, full, evidence_columns, changed_table, removed_table)
    answers = list_review_answers(state_dir)
    con.execute("create or replace temp table review_answered (record_key_l varchar, record_key_r varchar)")
    if answers:
        con.executemany(
            "insert into review_answered values (?, ?)", [(a.record_key_l, a.record_key_r) for a in answers]
        )

    # every scored pair (below the floor: the sample, each standing for 1 / rate pairs), with band and rank
    con.execute(
        f"""
        create or replace temp table review_population as
        with scored as (
            select record_key_l, record_key_r, match_probability, match_weight, {_rank_sql()} as sample_rank,
                   1.0::double as base_rate, false as is_low
            from {ER}.pairs
            union all
            select record_key_l, record_key_r, match_probability, match_weight, sample_rank, {rate!r}::double, true
            from {ER}.review_low_pairs
        )
        select *, {_band_sql("match_probability", band_list)} as band_id from scored
        """
    )
    con.execute(
        f"""
        create or replace temp table review_band_sizes as
        select band_id, count(*) as band_rows, max(base_rate) as base_rate,
               count(*) / max(base_rate) as band_pairs,
               bool_or(is_low) and max(base_rate) < 1 as band_pairs_is_estimate,
               max(base_rate) * least(1.0, {CANDIDATES_PER_BAND} / count(*))::double as inclusion
        from review_population
        group by band_id
        """
    )
    con.execute("create or replace temp table review_bands (band_id integer, band_lower double, band_upper double)")
    con.executemany("insert into review_bands values (?, ?, ?)", [(b.band_id, b.lower, b.upper) for b in band_list])
    settings = model.settings
    guard_rail = cannot_link_predicate(model.spec.cannot_link_rules, model.spec.link_requirements)
    con.execute(
        """
        create or replace temp table review_chosen as
        select population.record_key_l, population.record_key_r, population.match_probability,
               population.match_weight, population.band_id, population.sample_rank, population.is_low,
               population.sample_rank < sizes.inclusion as is_sampled,
               sizes.band_pairs, sizes.band_pairs_is_estimate, sizes.inclusion as band_sample_rate
        from review_population as population
        join review_band_sizes as sizes using (band_id)
        where population.sample_rank < sizes.inclusion
           or (population.record_key_l, population.record_key_r)
              in (select (record_key_l, record_key_r) from review_answered)
        """
    )
    gamma_columns = ", ".join(f'"{column}"' for column in evidence_columns)
    con.execute(
        f"""
        create or replace table {ER}.review_candidates as
        with comparison_vectors as (
            select record_key_l, record_key_r, {gamma_columns} from {ER}.pairs
            semi join review_chosen using (record_key_l, record_key_r)
            union all by name
            select record_key_l, record_key_r, {gamma_columns} from {ER}.review_low_pairs
            semi join review_chosen using (record_key_l, record_key_r)
        ),
        judged as (
            select
                chosen.*,
                {guard_rail} as guard_rail,
                {_evidence_sql(settings, evidence_columns)} as evidence
            from review_chosen as chosen
            join comparison_vectors using (record_key_l, record_key_r)
            join {ER}.records as l on l.record_key = chosen.record_key_l
            join {ER}.records as r on r.record_key = chosen.record_key_r
        ),
        with_strata as (
            select
                judged.*,
                -- a stratum's size: the band's size times its share of the band's sample
                band_pairs * count(*) filter (where is_sampled) over (partition by band_id, guard_rail is null)
                    / nullif(count(*) filter (where is_sampled) over (partition by band_id), 0) as stratum_pairs
            from judged
        )
        select
            '{run_id}' as run_id,
            '{model.model_id}' as model_id,
            {threshold!r}::double as threshold,
            with_strata.record_key_l,
            with_strata.record_key_r,
            with_strata.match_probability,
            with_strata.match_weight,
            with_strata.band_id,
            bands.band_lower,
            bands.band_upper,
            with_strata.band_pairs,
            with_strata.band_pairs_is_estimate,
            with_strata.band_sample_rate,
            coalesce(with_strata.stratum_pairs, 0) as stratum_pairs,
            with_strata.is_sampled,
            with_strata.sample_rank,
            with_strata.guard_rail,
            coalesce(links.is_accepted, false) as is_linked,
            coalesce(ids_l.customer_id = ids_r.customer_id, false) as is_same_customer,
            with_strata.evidence
        from with_strata
        join review_bands as bands using (band_id)
        left join {ER}.links as links using (record_key_l, record_key_r)
        left join {ER}.identity_map as ids_l on ids_l.record_key = with_strata.record_key_l
        left join {ER}.identity_map as ids_r on ids_r.record_key = with_strata.record_key_r
        order by band_id, sample_rank
        """
    )
    for table in ("review_population", "review_band_sizes", "review_bands", "review_chosen", "review_answered"):
        con.execute(f"drop table if exists {table}")
    row = con.execute(f"select count(*) from {ER}.review_candidates").fetchone()
    return int(row[0]) if row else 0


def _refresh_low_sample(
    con: duckdb.DuckDBPyConnection,
    model: TrainedModel,
    floor: float,
    full: bool,
    evidence_columns: list[str],
    changed_table: str,
    removed_table: str,
) -> float:
    """Keep entity_resolution.review_low_pairs, a seeded Bernoulli sample of the blocked pairs scoring below the
    floor, up to date; returns its sampling rate. A full run draws it anew (rate: about LOW_SAMPLE_TARGET pairs);
    an incremental run keeps the rate, drops the pairs of changed and removed records and samples theirs again —
    the same pairs a full run with that rate would hold, since membership depends only on the pair's seeded rank."""
    spec = model.spec
    columns = ", ".join(dict.fromkeys(spec.columns))
    stored = (
        con.execute(f"select rate, model_id from {ER}.review_sampling").fetchone()
        if table_exists(con, ER, "review_sampling") and table_exists(con, ER, "review_low_pairs")
        else None
    )
    incremental = not full and stored is not None and stored[1] == model.model_id
    if incremental:
        assert stored is not None
        rate = float(stored[0])
        con.execute(
            f"""
            delete from {ER}.review_low_pairs
            where record_key_l in (select record_key from {changed_table} union all select record_key from {removed_table})
               or record_key_r in (select record_key from {changed_table} union all select record_key from {removed_table})
            """
        )
        row = con.execute(f"select count(*) from {changed_table}").fetchone()
        if not row or not row[0]:
            return rate
        con.execute(
            f"create or replace temp table review_changed as"
            f" select {columns} from {ER}.records semi join {changed_table} using (record_key)"
        )
        partners = spec.blocking_partners_sql("review_changed", f"{ER}.records")
        con.execute(
            f"""
            create or replace temp table review_scope as
            select {columns} from review_changed
            union all
            select {columns} from ({partners})
            """
        )
    else:
        con.execute(f"create or replace temp table review_scope as select {columns} from {ER}.records")
    db_api = splink_api(con)
    records = db_api.register(con.table("review_scope"), table_name="review_scope_records")
    linker = load_linker(con, model, records, db_api)
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    touching = (
        f"where join_key_l in (select record_key from {changed_table}) "
        f"or join_key_r in (select record_key from {changed_table})"
        if incremental
        else ""
    )
    con.execute(
        f"""
        create or replace temp table review_blocked as
        select match_key, least(join_key_l, join_key_r) as join_key_l, greatest(join_key_l, join_key_r) as join_key_r
        from {blocked.physical_name} {touching}
        """
    )
    if not incremental:
        blocked_row = con.execute("select count(*) from review_blocked").fetchone()
        stored_row = con.execute(f"select count(*) from {ER}.pairs").fetchone()
        below_floor = (blocked_row[0] if blocked_row else 0) - (stored_row[0] if stored_row else 0)
        rate = min(1.0, LOW_SAMPLE_TARGET / max(1, below_floor))
        con.execute(
            f"create or replace table {ER}.review_sampling (rate double, model_id varchar, blocked_pairs bigint)"
        )
        con.execute(
            f"insert into {ER}.review_sampling values (?, ?, ?)",
            [rate, model.model_id, blocked_row[0] if blocked_row else 0],
        )
    con.execute(
        f"create or replace temp table review_blocked_sample as select * from review_blocked"
        f" where {_rank_sql('join_key_l', 'join_key_r')} < {rate!r}"
    )
    sample = db_api.register(con.table("review_blocked_sample"), table_name="review_blocked_sample_pairs")
    linker.table_management.register_blocked_pairs_for_predict(sample)
    predictions = linker.inference.predict(warning_mode="never")
    kept = ", ".join(f'"{column}"' for column in evidence_columns)
    select = (
        f"select record_key_l, record_key_r, match_probability, match_weight, {_rank_sql()} as sample_rank, {kept}"
        f" from {predictions.physical_name} where match_probability < {floor!r}"
    )
    if incremental:
        con.execute(f"insert into {ER}.review_low_pairs by name {select}")
    else:
        con.execute(f"create or replace table {ER}.review_low_pairs as {select}")
    predictions.drop_table_from_database_and_remove_from_cache()
    blocked.drop_table_from_database_and_remove_from_cache()
    for name in (
        "review_scope_records",
        "review_blocked_sample_pairs",
        *(f"frozen_tf_{column}" for column in spec.tf_columns()),
    ):
        con.unregister(name)  # Splink registered these as views on this connection
    for table in ("review_changed", "review_scope", "review_blocked", "review_blocked_sample"):
        con.execute(f"drop table if exists {table}")
    return rate


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"select * from {table} limit 0").description]


def _evidence_sql(settings: dict[str, Any], columns: list[str]) -> str:
    """A list of struct(comparison, gamma, level_label, match_weight) per pair, labels from the trained settings."""
    labels: dict[str, list[tuple[int, str]]] = {}
    for comparison, gamma, label in level_labels(settings):
        labels.setdefault(comparison, []).append((gamma, label))
    items = []
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        if f"gamma_{name}" not in columns:
            continue
        cases = " ".join(f"when {gamma} then {_literal(label)}" for gamma, label in labels.get(name, []))
        weight = f'coalesce("mw_{name}", 0)' if f"mw_{name}" in columns else "0.0"
        if f"mw_tf_adj_{name}" in columns:
            weight += f' + coalesce("mw_tf_adj_{name}", 0)'
        items.append(
            f"""struct_pack(
                comparison := {_literal(name)},
                gamma := "gamma_{name}"::integer,
                level_label := coalesce(case "gamma_{name}" {cases} end, 'level ' || "gamma_{name}"),
                match_weight := case when "gamma_{name}" = -1 then 0.0 else ({weight})::double end
            )"""
        )
    return f"[{', '.join(items)}]" if items else "[]"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- 2. calibration --------------------------------------------------------------------------------------------


def wilson_interval(successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (successes of n). Works for 0 and n successes, where the normal
    approximation collapses to a point; `n` may be an effective (non-integer) sample size."""
    if n <= 0:
        return (0.0, 1.0)
    p = min(1.0, max(0.0, successes / n))
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low = 0.0 if p == 0 else max(0.0, centre - half)  # exactly 0 and 1 at the ends (no rounding error)
    high = 1.0 if p == 1 else min(1.0, centre + half)
    return (low, high)


@dataclass
class Stratum:
    """A band, split by whether a guard rail vetoes the pair: the unit of sampling, counting and estimation."""

    band_id: int
    band: str
    lower: float
    upper: float
    vetoed: bool
    pairs: float  # estimated pairs of the stratum among all scored pairs
    candidates: int = 0
    same: int = 0
    different: int = 0
    unsure: int = 0
    probabilities: list[float] = field(default_factory=list)  # model probabilities of the answered pairs

    @property
    def labelled(self) -> int:
        return self.same + self.different

    @property
    def share_same(self) -> float | None:
        return self.same / self.labelled if self.labelled else None

    @property
    def true_matches(self) -> float | None:
        share = self.share_same
        return None if share is None else self.pairs * share


@dataclass
class BandSummary:
    band_id: int
    band: str
    lower: float
    upper: float
    pairs: float
    pairs_is_estimate: bool
    vetoed_share: float
    candidates: int
    same: int
    different: int
    unsure: int
    share_same: float | None
    share_same_low: float | None
    share_same_high: float | None
    mean_model_probability: float | None  # of the answered pairs: compare with share_same (is the score calibrated?)
    share_same_passing: float | None  # among pairs no guard rail vetoes
    share_same_vetoed: float | None  # among pairs a guard rail vetoes (a `same` here is a match the rails refuse)


@dataclass
class ThresholdEstimate:
    threshold: float
    linked_pairs: float  # estimated pairs the pipeline would link (at or above, no guard rail veto)
    precision: float | None
    precision_low: float | None
    precision_high: float | None
    effective_answers: float | None  # Kish's effective sample size of the precision estimate
    recall: float | None
    false_merge_pairs: float | None
    missed_pairs: float | None
    missing: list[str] = field(default_factory=list)  # strata without answers that the estimate needs


@dataclass
class Calibration:
    threshold: float
    target: float
    model_id: str
    answers: dict[str, int]
    answers_not_in_candidates: int
    bands: list[BandSummary]
    thresholds: list[ThresholdEstimate]
    current: ThresholdEstimate | None
    recommended_threshold: float | None
    answers_needed: int | None  # effective answers above the current threshold for its lower bound to reach target
    notes: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_strata(candidates: Iterable[CandidateRow], answers: Mapping[Pair, str]) -> list[Stratum]:
    """Strata with their estimated sizes and the answers given for their candidates.

    A stratum's size is its band's size (exact at or above the stored-pairs floor, a Horvitz–Thompson estimate
    below it) times its share of the band's sample. Answered pairs that were kept only because they were answered
    (`is_sampled` false) count as answers, not towards the sizes."""
    by_key: dict[tuple[int, bool], Stratum] = {}
    sampled: dict[tuple[int, bool], int] = {}
    band_sampled: dict[int, int] = {}
    band_pairs: dict[int, float] = {}
    for candidate in candidates:
        key = (candidate.band_id, candidate.vetoed)
        stratum = by_key.get(key)
        if stratum is None:
            stratum = by_key[key] = Stratum(
                candidate.band_id, candidate.band, candidate.band_lower, candidate.band_upper, candidate.vetoed, 0.0
            )
        stratum.candidates += 1
        band_pairs[candidate.band_id] = candidate.band_pairs
        if candidate.is_sampled:
            sampled[key] = sampled.get(key, 0) + 1
            band_sampled[candidate.band_id] = band_sampled.get(candidate.band_id, 0) + 1
        answer = answers.get(candidate.pair)
        if answer in ("same", "different", "unsure"):
            setattr(stratum, answer, getattr(stratum, answer) + 1)
            if answer != "unsure":
                stratum.probabilities.append(candidate.match_probability)
    for key, stratum in by_key.items():
        in_band = band_sampled.get(stratum.band_id, 0)
        stratum.pairs = band_pairs[stratum.band_id] * sampled.get(key, 0) / in_band if in_band else 0.0
    return [by_key[key] for key in sorted(by_key)]


def estimate_at(strata: list[Stratum], threshold: float) -> ThresholdEstimate:
    """Pairwise precision and recall if every pair scoring at least `threshold` that no guard rail vetoes were linked.

    precision = Σ N_s·p_s / Σ N_s over the linked strata (N_s stratum size, p_s its share of `same`), with a Wilson
    interval at Kish's effective sample size n_eff = 1 / Σ (W_s² / n_s) (W_s = N_s / Σ N, n_s its labelled answers);
    recall = estimated true matches linked / estimated true matches in all strata. Pairs never compared (no blocking
    rule brings them together) are in no stratum: recall is over the scored pairs only."""
    linked = [s for s in strata if s.lower >= threshold and not s.vetoed and s.pairs > 0]
    total_linked = sum(s.pairs for s in linked)
    missing = [_stratum_name(s) for s in linked if s.labelled == 0]
    estimate = ThresholdEstimate(threshold, total_linked, None, None, None, None, None, None, None, missing)
    if linked and not missing:
        precision = sum(s.pairs * (s.share_same or 0.0) for s in linked) / total_linked
        effective = 1.0 / sum((s.pairs / total_linked) ** 2 / s.labelled for s in linked)
        low, high = wilson_interval(precision * effective, effective)
        estimate.precision, estimate.precision_low, estimate.precision_high = precision, low, high
        estimate.effective_answers = effective
        estimate.false_merge_pairs = sum(s.pairs * (1 - (s.share_same or 0.0)) for s in linked)
    elif not linked:
        estimate.false_merge_pairs = 0.0
    everything = [s for s in strata if s.pairs > 0]
    unanswered = [_stratum_name(s) for s in everything if s.labelled == 0 and _stratum_name(s) not in missing]
    if not unanswered and not missing:
        true_total = sum(s.true_matches or 0.0 for s in everything)
        found = sum(s.true_matches or 0.0 for s in linked)
        estimate.recall = found / true_total if true_total else None
        estimate.missed_pairs = true_total - found
    estimate.missing = missing + unanswered
    return estimate


def _stratum_name(stratum: Stratum) -> str:
    return stratum.band + (" (vetoed by a guard rail)" if stratum.vetoed else "")


def answers_needed(share: float, target: float, z: float = Z_95) -> int | None:
    """How many labelled answers (effective) a Wilson lower bound at `share` needs to reach `target`; None if the
    share itself does not reach it."""
    if share <= target:
        return None
    n = 1
    while wilson_interval(share * n, n, z)[0] < target:
        n *= 2
        if n > 10_000_000:
            return None
    low, high = n // 2, n
    while low + 1 < high:
        middle = (low + high) // 2
        if wilson_interval(share * middle, middle, z)[0] >= target:
            high = middle
        else:
            low = middle
    return high


def calibrate(
    candidates: list[CandidateRow],
    answers: Mapping[Pair, str],
    target: float = DEFAULT_TARGET,
    floor: float = 0.5,
    threshold: float | None = None,
) -> Calibration:
    """The review report: per band the share of `same` (Wilson 95 %), precision and recall at every band edge at or
    above the stored-pairs floor (where links can form), and the recommended threshold: the lowest one whose
    precision lower bound reaches `target`."""
    threshold = threshold if threshold is not None else (candidates[0].threshold if candidates else 0.9)
    strata = build_strata(candidates, answers)
    counted = {c.pair for c in candidates}
    given = {"same": 0, "different": 0, "unsure": 0}
    for answer in answers.values():
        given[answer] = given.get(answer, 0) + 1
    bands_out = []
    for band_id in sorted({s.band_id for s in strata}):
        parts = [s for s in strata if s.band_id == band_id]
        same = sum(s.same for s in parts)
        different = sum(s.different for s in parts)
        pairs = sum(s.pairs for s in parts)
        low, high = wilson_interval(same, same + different) if same + different else (None, None)
        probabilities = [p for s in parts for p in s.probabilities]
        passing = [s for s in parts if not s.vetoed]
        vetoed = [s for s in parts if s.vetoed]
        pairs_is_estimate = any(c.band_pairs_is_estimate for c in candidates if c.band_id == band_id)
        bands_out.append(
            BandSummary(
                band_id=band_id,
                band=parts[0].band,
                lower=parts[0].lower,
                upper=parts[0].upper,
                pairs=pairs,
                pairs_is_estimate=pairs_is_estimate,
                vetoed_share=sum(s.pairs for s in vetoed) / pairs if pairs else 0.0,
                candidates=sum(s.candidates for s in parts),
                same=same,
                different=different,
                unsure=sum(s.unsure for s in parts),
                share_same=same / (same + different) if same + different else None,
                share_same_low=low,
                share_same_high=high,
                mean_model_probability=sum(probabilities) / len(probabilities) if probabilities else None,
                share_same_passing=_pooled_share(passing),
                share_same_vetoed=_pooled_share(vetoed),
            )
        )
    edges = sorted({s.lower for s in strata if s.lower >= floor} | {threshold})
    estimates = [estimate_at(strata, edge) for edge in edges]
    current = next((e for e in estimates if e.threshold == threshold), None)
    recommended = next(
        (e.threshold for e in estimates if e.precision_low is not None and e.precision_low >= target), None
    )
    needed = None
    if current is not None and current.precision is not None and current.effective_answers is not None:
        total = answers_needed(current.precision, target)
        needed = None if total is None else max(0, math.ceil(total - current.effective_answers))
    notes = [
        "Precision and recall count pairs of records the pipeline would link: scoring at least the threshold and "
        "vetoed by no guard rail (human decisions aside). Pairs never compared because no blocking rule brings them "
        "together are not counted: recall is over the scored pairs only.",
        "The recommended threshold is the lowest band edge whose precision lower bound (Wilson 95 % at the "
        "stratified sample's effective size) reaches the target.",
    ]
    not_found = sum(1 for pair in answers if pair not in counted)
    if not_found:
        notes.append(
            f"{not_found} answered pair(s) are not among the last run's candidates (a record changed or left, or the "
            "pair is no longer scored): they are not counted."
        )
    return Calibration(
        threshold=threshold,
        target=target,
        model_id=candidates[0].model_id if candidates else "",
        answers=given,
        answers_not_in_candidates=not_found,
        bands=bands_out,
        thresholds=estimates,
        current=current,
        recommended_threshold=recommended,
        answers_needed=needed,
        notes=notes,
    )


def _pooled_share(strata: list[Stratum]) -> float | None:
    labelled = sum(s.labelled for s in strata)
    return sum(s.same for s in strata) / labelled if labelled else None


def write_calibration(calibration: Calibration, reports_dir: Path, run_id: str) -> Path:
    """The report as JSON under <data_dir>/reports/review/ (one file per report, latest.json the newest)."""
    folder = reports_dir / "review"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = json.dumps({"run_id": run_id, "created_at": stamp, **calibration.as_dict()}, indent=2, default=str)
    path = folder / f"calibration-{stamp}.json"
    path.write_text(payload, encoding="utf-8")
    (folder / "latest.json").write_text(payload, encoding="utf-8")
    return path


# -- 3. training from labels -------------------------------------------------------------------------------------


class ReviewTrainingError(ValueError):
    """The answers cannot train the model (none usable, or they were scored by another spec)."""


def train_from_answers(
    model: TrainedModel,
    candidates: list[CandidateRow],
    answers: Mapping[Pair, str],
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
) -> TrainedModel:
    """Re-estimate m-probabilities from the pairs answered `same` and save them as a new current model version.

    m is P(level | match). Each `same` pair stands for N_s / n_s pairs of its stratum (its size over its labelled
    answers), so its level counts with that weight — stratified sampling over-represents the low bands, where
    matches disagree more, and unweighted counts would overstate disagreement. The label estimate is blended with
    the current model as if the model were `prior_weight` labelled pairs: m = (n·m_labels + k·m_model) / (n + k),
    n Kish's effective number of same-pairs with a value for that comparison. A few dozen answers move the model,
    they do not replace it. Levels with fixed m stay; the spec's m-limits (training.m_limits) still apply.
    u-probabilities and the prior stay: pairs sampled from blocked candidates say nothing about random pairs.

    (Splink's `linker.training.estimate_m_from_pairwise_labels(table)` counts the same way — the comparison vectors
    of labelled pairs, proportions per level — but weighs every label alike and replaces m outright; the gamma values
    used here are the ones Splink scored the candidates with.)"""
    from entity_resolution.model import _clamp_m_probabilities

    if prior_weight < 0:
        raise ReviewTrainingError("the prior weight cannot be negative")
    spec_key = candidates[0].model_id.rsplit("-", 1)[0] if candidates else ""
    if candidates and spec_key != model.spec.key:
        raise ReviewTrainingError(
            f"the review candidates were scored by a model of spec {spec_key}, the current model is of spec "
            f"{model.spec.key}: run the pipeline first (c360 run), then train"
        )
    strata = {(s.band_id, s.vetoed): s for s in build_strata(candidates, answers)}
    labelled: list[tuple[float, dict[str, int]]] = []
    for candidate in candidates:
        if answers.get(candidate.pair) != "same":
            continue
        stratum = strata[(candidate.band_id, candidate.vetoed)]
        weight = stratum.pairs / stratum.labelled if stratum.labelled and stratum.pairs > 0 else 0.0
        if weight > 0:
            labelled.append((weight, candidate.gammas))
    if not labelled:
        raise ReviewTrainingError("no pair answered `same` among the last run's candidates: nothing to learn m from")

    settings = json.loads(json.dumps(model.settings))
    changes: list[dict[str, Any]] = []
    effective: dict[str, float] = {}
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        gamma_of = {id(level): len(levels) - 1 - position for position, level in enumerate(levels)}
        observed = [(weight, gammas[name]) for weight, gammas in labelled if gammas.get(name, -1) >= 0]
        if not observed:
            continue
        total = sum(weight for weight, _ in observed)
        n_eff = total**2 / sum(weight * weight for weight, _ in observed)
        effective[name] = n_eff
        adjustable = [level for level in levels if not level.get("fix_m_probability")]
        fixed_mass = sum(level.get("m_probability") or 0.0 for level in levels if level.get("fix_m_probability"))
        adjustable_gammas = {gamma_of[id(level)] for level in adjustable}
        adjustable_total = sum(weight for weight, gamma in observed if gamma in adjustable_gammas)
        if not adjustable_total:
            continue
        # a comparison the current model never estimated (EM skipped it) has no m to start from: the labels alone,
        # with Jeffreys' half a pair per level so that a level no labelled match showed is rare, not impossible
        untrained = any(level.get("m_probability") is None for level in adjustable)
        weight_of_model = 0.0 if untrained else prior_weight
        pseudo = 0.5 if untrained else 0.0
        for level in adjustable:
            share = sum(weight for weight, gamma in observed if gamma == gamma_of[id(level)]) / adjustable_total
            share = (n_eff * share + pseudo) / (n_eff + pseudo * len(adjustable))
            from_labels = share * (1 - fixed_mass)
            before = level.get("m_probability")
            after = (n_eff * from_labels + weight_of_model * (before or 0.0)) / (n_eff + weight_of_model)
            level["m_probability"] = max(after, 1e-6)  # a level never seen among matches is rare, not impossible
            changes.append(
                {
                    "comparison": name,
                    "level": level.get("label_for_charts"),
                    "m_before": before,
                    "m_from_labels": from_labels,
                    "m_after": level["m_probability"],
                }
            )
        mass = sum(level["m_probability"] for level in adjustable)
        for level, change in zip(adjustable, changes[-len(adjustable) :], strict=True):
            level["m_probability"] = change["m_after"] = level["m_probability"] * (1 - fixed_mass) / mass
    clamped = _clamp_m_probabilities(settings, model.spec.m_limits())
    counts = {kind: sum(1 for a in answers.values() if a == kind) for kind in ("same", "different", "unsure")}
    report = {
        **{key: value for key, value in model.training_report.items() if key in ("spec", "records", "blocking")},
        "trained_from": "review labels",
        "base_model": model.model_id,
        "review_labels": {
            **counts,
            "same_used": len(labelled),
            "not_in_candidates": sum(1 for pair in answers if pair not in {c.pair for c in candidates}),
        },
        "prior_weight": prior_weight,
        "effective_labels": effective,
        "m_changes": changes,
        "clamped": clamped,
        "em_sessions": [],
        "m_u": _m_u(settings),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return save_model_version(model, settings, report)


def _m_u(settings: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "comparison": comparison["output_column_name"],
            "level": level.get("label_for_charts"),
            "m": level.get("m_probability"),
            "u": level.get("u_probability"),
        }
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
        if not level.get("is_null_level")
    ]
