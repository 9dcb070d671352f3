"""The review queue, read from the published snapshot (`marts.review_candidates`): what the console's review page
and `c360 review` show a data steward next.

The resolution stage samples candidate pairs in every match-probability band (entity_resolution/review.py); dbt
publishes them with both records and the evidence. Here the queue is served from that table and the steward's
answers (state/decisions.sqlite, customer360.core.decisions): the next pair comes from the stratum — a band, split
into pairs a guard rail keeps apart and pairs it does not — with the fewest answers (ties: the lower band first),
and inside it the unanswered pair with the smallest seeded sample rank. Deterministic, stratified, and an answered
pair never comes back.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from customer360.serving.models import Evidence, ReviewBandProgress, ReviewPair, ReviewRecord

SCHEMA = "marts"
TABLE = "review_candidates"
RECORD_FIELDS = (
    "source_system",
    "source_record_id",
    "full_name",
    "email",
    "phone_e164",
    "date_of_birth",
    "street",
    "postcode",
    "city",
)
Pair = tuple[str, str]


@dataclass(frozen=True)
class CandidateRow:
    """What the queue and the calibration need of one candidate pair (one row of marts.review_candidates)."""

    record_key_l: str
    record_key_r: str
    match_probability: float
    band_id: int
    band_lower: float
    band_upper: float
    band_pairs: float  # pairs of the band among all scored pairs (an estimate below the stored-pairs floor)
    is_sampled: bool  # drawn by the band's sample (False: an answered pair kept because it was answered)
    guard_rail: str | None  # the guard rail that keeps the pair apart whatever its score
    sample_rank: float  # seeded, uniform in [0, 1): the queue order inside a stratum
    threshold: float  # the run's match-probability threshold
    model_id: str
    match_weight: float | None = None
    band_pairs_is_estimate: bool = False
    gammas: dict[str, int] = field(default_factory=dict)  # comparison → level (Splink's gamma), for training

    @property
    def pair(self) -> Pair:
        return (self.record_key_l, self.record_key_r)

    @property
    def vetoed(self) -> bool:
        return self.guard_rail is not None

    @property
    def band(self) -> str:
        return band_label(self.band_lower, self.band_upper)


def band_label(lower: float, upper: float) -> str:
    """`< 0.1`, `0.9–0.95`, `≥ 0.999` (the top band includes 1)."""
    if lower <= 0:
        return f"< {_number(upper)}"
    if upper >= 1:
        return f"≥ {_number(lower)}"
    return f"{_number(lower)}–{_number(upper)}"


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def pair_key(record_a: str, record_b: str) -> Pair:
    left, right = sorted((record_a, record_b))
    return (left, right)


def has_candidates(con: Any, schema: str = SCHEMA) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, TABLE]
    ).fetchone()
    return bool(row and row[0])


def load_candidates(con: Any, schema: str = SCHEMA, with_gammas: bool = False) -> list[CandidateRow]:
    """Every candidate of the snapshot (a few thousand rows at most: the sample is capped per band)."""
    if not has_candidates(con, schema):
        return []
    gammas = ", [struct_pack(c := e.comparison, g := e.gamma) for e in evidence]" if with_gammas else ", []"
    rows = con.execute(
        f"""
        select record_key_l, record_key_r, match_probability, band_id, band_lower, band_upper, band_pairs,
               is_sampled, guard_rail, sample_rank, threshold, model_id, match_weight, band_pairs_is_estimate
               {gammas}
        from {schema}.{TABLE}
        order by band_id, sample_rank, record_key_l, record_key_r
        """
    ).fetchall()
    return [
        CandidateRow(
            record_key_l=row[0],
            record_key_r=row[1],
            match_probability=float(row[2]),
            band_id=int(row[3]),
            band_lower=float(row[4]),
            band_upper=float(row[5]),
            band_pairs=float(row[6]),
            is_sampled=bool(row[7]),
            guard_rail=row[8],
            sample_rank=float(row[9]),
            threshold=float(row[10]),
            model_id=row[11],
            match_weight=row[12],
            band_pairs_is_estimate=bool(row[13]),
            gammas={item["c"]: int(item["g"]) for item in row[14] or [] if item["g"] is not None},
        )
        for row in rows
    ]


def strata(candidates: list[CandidateRow], answered: Collection[Pair]) -> list[ReviewBandProgress]:
    """Candidates and answers per stratum (band × whether a guard rail keeps the pair apart), in band order."""
    counts: dict[tuple[int, bool], list[Any]] = {}
    for candidate in candidates:
        key = (candidate.band_id, candidate.vetoed)
        entry = counts.setdefault(key, [candidate.band, 0, 0])
        entry[1] += 1
        entry[2] += candidate.pair in answered
    return [
        ReviewBandProgress(band_id=band_id, band=band, vetoed=vetoed, candidates=total, answered=done)
        for (band_id, vetoed), (band, total, done) in sorted(counts.items())
    ]


def next_candidate(candidates: list[CandidateRow], answered: Collection[Pair]) -> CandidateRow | None:
    """The next pair to review: from the stratum with the fewest answers that still has unanswered pairs (ties: the
    lower band, then the pairs no guard rail vetoes), the unanswered pair with the smallest sample rank."""
    best: tuple[int, int, bool, float, str, str] | None = None
    chosen: CandidateRow | None = None
    answers_per_stratum: dict[tuple[int, bool], int] = {}
    for candidate in candidates:
        if candidate.pair in answered:
            key = (candidate.band_id, candidate.vetoed)
            answers_per_stratum[key] = answers_per_stratum.get(key, 0) + 1
    for candidate in candidates:
        if candidate.pair in answered:
            continue
        order = (
            answers_per_stratum.get((candidate.band_id, candidate.vetoed), 0),
            candidate.band_id,
            candidate.vetoed,
            candidate.sample_rank,
            *candidate.pair,
        )
        if best is None or order < best:
            best, chosen = order, candidate
    return chosen


def load_pair(con: Any, record_a: str, record_b: str, schema: str = SCHEMA) -> ReviewPair | None:
    """One candidate pair with both records and the evidence, or None if it is not a candidate of this snapshot."""
    if not has_candidates(con, schema):
        return None
    left, right = pair_key(record_a, record_b)
    columns = ", ".join(f"{name}_{side}" for side in ("l", "r") for name in RECORD_FIELDS)
    cursor = con.execute(
        f"""
        select record_key_l, record_key_r, match_probability, match_weight, band_id, band_lower, band_upper,
               guard_rail, evidence, {columns}
        from {schema}.{TABLE}
        where record_key_l = ? and record_key_r = ?
        """,
        [left, right],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    names = [column[0] for column in cursor.description]
    values = dict(zip(names, row, strict=True))

    def record(side: str) -> ReviewRecord:
        return ReviewRecord(
            record_key=values[f"record_key_{side}"], **{name: values[f"{name}_{side}"] for name in RECORD_FIELDS}
        )

    return ReviewPair(
        record_key_l=left,
        record_key_r=right,
        match_probability=float(values["match_probability"]),
        match_weight=_finite(values["match_weight"]),
        band_id=int(values["band_id"]),
        band=band_label(values["band_lower"], values["band_upper"]),
        guard_rail=values["guard_rail"],
        left=record("l"),
        right=record("r"),
        evidence=[
            Evidence(
                comparison=item["comparison"],
                level=item["level_label"],
                match_weight=_finite(item["match_weight"]) or 0.0,
            )
            for item in values["evidence"] or []
        ],
    )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number
