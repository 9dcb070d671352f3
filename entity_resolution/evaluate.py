"""Accuracy against labels: pairwise precision, recall and F1, and cluster counts; and against review answers.

A labels file has one row per identity record: source_system, source_record_id, entity_id (the true person).
Pairs are counted set-based: within every (customer, entity) group, n·(n-1)/2 pairs are true positives.
Only records present in both the labels and the identity map are scored; the report says how many were left out.

Review answers (`c360 review`) are pairwise labels: `evaluate_answers` counts the answered pairs whose records the
current customers put together or apart, against the steward's same / different.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb


@dataclass
class Evaluation:
    records_scored: int
    records_unlabelled: int
    labels_unmatched: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    customers: int
    entities: int
    exact_clusters: int

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_merge_pairs(self) -> int:
        return self.predicted_pairs - self.true_positive_pairs

    @property
    def missed_pairs(self) -> int:
        return self.true_pairs - self.true_positive_pairs

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}


def evaluate(
    con: duckdb.DuckDBPyConnection, labels_path: Path, identity_map: str = "entity_resolution.identity_map"
) -> Evaluation:
    if not labels_path.is_file():
        raise FileNotFoundError(f"labels file {labels_path} not found")
    con.execute(
        """
        create or replace temp table labels as
        select cast(source_system as varchar) as source_system, cast(source_record_id as varchar) as source_record_id,
               cast(entity_id as varchar) as entity_id
        from read_csv(?, header = true, all_varchar = true)
        """,
        [str(labels_path)],
    )
    missing = {"source_system", "source_record_id", "entity_id"} - {
        row[0] for row in con.execute("describe labels").fetchall()
    }
    if missing:
        raise ValueError(
            f"{labels_path}: missing columns {sorted(missing)} (need source_system, source_record_id, entity_id)"
        )
    row = con.execute(
        f"""
        with scored as (
            select m.customer_id, l.entity_id
            from {identity_map} as m
            join labels as l using (source_system, source_record_id)
        ),
        by_pair_group as (select customer_id, entity_id, count(*) as n from scored group by all),
        by_customer as (select customer_id, count(*) as n, count(distinct entity_id) as entities from scored group by all),
        by_entity as (select entity_id, count(*) as n, count(distinct customer_id) as customers from scored group by all)
        select
            (select count(*) from scored),
            (select count(*) from {identity_map} anti join labels using (source_system, source_record_id)),
            (select count(*) from labels anti join {identity_map} using (source_system, source_record_id)),
            coalesce((select sum(n * (n - 1) / 2) from by_entity), 0),
            coalesce((select sum(n * (n - 1) / 2) from by_customer), 0),
            coalesce((select sum(n * (n - 1) / 2) from by_pair_group), 0),
            (select count(*) from by_customer),
            (select count(*) from by_entity),
            (select count(*) from by_customer join by_pair_group using (customer_id)
               join by_entity using (entity_id)
             where by_customer.entities = 1 and by_entity.customers = 1)
        """
    ).fetchone()
    assert row is not None  # an aggregate query always returns one row
    return Evaluation(*[int(value) for value in row])


# -- against the review answers ----------------------------------------------------------------------------------


@dataclass
class PairCounts:
    """Answered pairs by the steward's answer and whether the model's customers put the two records together."""

    same_together: int = 0  # agree
    same_apart: int = 0  # a missed link
    different_together: int = 0  # a false merge
    different_apart: int = 0  # agree

    @property
    def answered(self) -> int:
        return self.same_together + self.same_apart + self.different_together + self.different_apart

    @property
    def agree(self) -> int:
        return self.same_together + self.different_apart

    @property
    def precision(self) -> float | None:
        together = self.same_together + self.different_together
        return self.same_together / together if together else None

    @property
    def recall(self) -> float | None:
        same = self.same_together + self.same_apart
        return self.same_together / same if same else None


@dataclass
class AnswerEvaluation:
    """The current customers against the stewards' answers (`c360 review`).

    Answers recorded before the last resolution run became decisions that run obeyed: that they agree shows the
    decisions were applied, not that the model is right (`applied`). Answers recorded since (`pending`) measure what
    the model and guard rails decided on their own. Only answered pairs are counted — a sample chosen by band, not
    a random sample of all pairs: `c360 review report` weights them into precision and recall estimates."""

    pending: PairCounts
    applied: PairCounts
    unsure: int
    records_missing: int  # answers whose records the identity map no longer has

    def as_dict(self) -> dict[str, Any]:
        def counts(part: PairCounts) -> dict[str, Any]:
            return {**asdict(part), "agree": part.agree, "precision": part.precision, "recall": part.recall}

        return {
            "pending": counts(self.pending),
            "applied": counts(self.applied),
            "unsure": self.unsure,
            "records_missing": self.records_missing,
        }


def evaluate_answers(
    con: duckdb.DuckDBPyConnection,
    answers: Iterable[Any],
    identity_map: str = "entity_resolution.identity_map",
    decisions: str = "entity_resolution.decisions",
) -> AnswerEvaluation:
    """Compare review answers (customer360.core.decisions.ReviewAnswer) with the customers of the last run."""
    rows = [(a.record_key_l, a.record_key_r, a.answer, a.decision_id) for a in answers]
    unsure = sum(1 for row in rows if row[2] == "unsure")
    rows = [row for row in rows if row[2] != "unsure"]
    synced = 0
    schema, _, table = decisions.partition(".")
    if con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()[0]:  # type: ignore[index]
        synced = con.execute(f"select coalesce(max(decision_id), 0) from {decisions}").fetchone()[0]  # type: ignore[index]
    con.execute(
        "create or replace temp table answered_pairs "
        "(record_key_l varchar, record_key_r varchar, answer varchar, decision_id bigint)"
    )
    if rows:
        con.executemany("insert into answered_pairs values (?, ?, ?, ?)", rows)
    found = con.execute(
        f"""
        select answer, coalesce(decision_id, 0) <= ? and decision_id is not null as applied,
               l.customer_id = r.customer_id as together, count(*)
        from answered_pairs
        join {identity_map} as l on l.record_key = answered_pairs.record_key_l
        join {identity_map} as r on r.record_key = answered_pairs.record_key_r
        group by all
        """,
        [synced],
    ).fetchall()
    pending, applied = PairCounts(), PairCounts()
    for answer, is_applied, together, count in found:
        target = applied if is_applied else pending
        name = f"{answer}_{'together' if together else 'apart'}"
        setattr(target, name, getattr(target, name) + int(count))
    missing = len(rows) - sum(int(row[3]) for row in found)
    con.execute("drop table answered_pairs")
    return AnswerEvaluation(pending, applied, unsure, missing)
