"""Accuracy against labels: pairwise precision, recall and F1, and cluster counts.

A labels file has one row per identity record: source_system, source_record_id, entity_id (the true person).
Pairs are counted set-based: within every (customer, entity) group, n·(n-1)/2 pairs are true positives.
Only records present in both the labels and the identity map are scored; the report says how many were left out.
"""

from __future__ import annotations

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
