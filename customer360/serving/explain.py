"""Why records are one customer, read from the marts (`customer_identity_map`, `customer_match_evidence`,
`customer_ids`): in the warehouse (`c360 explain`) or in a published snapshot (the console). The evidence itself is
written by the resolution stage (entity_resolution/explain.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb


@dataclass
class Link:
    record_key_l: str
    record_key_r: str
    match_probability: float
    match_weight: float
    evidence: list[tuple[str, str, float]] = field(default_factory=list)  # (comparison, level label, weight)


@dataclass
class Explanation:
    customer_id: str
    requested_id: str
    members: list[dict[str, Any]]
    links: list[Link]
    decisions: list[dict[str, Any]]

    @property
    def redirected(self) -> bool:
        return self.customer_id != self.requested_id


def explain_customer(con: duckdb.DuckDBPyConnection, customer_id: str, schema: str = "marts") -> Explanation | None:
    """Members and link evidence of one customer (a merged ID is followed to the customer it was merged into)."""
    current = follow_merges(con, schema, customer_id)
    if current is None:
        return None
    members = (
        con.execute(
            f"select * from {schema}.customer_identity_map where customer_id = ? order by source_system, source_record_id",
            [current],
        )
        .fetchdf()
        .to_dict("records")
    )
    rows = con.execute(
        f"""
        select record_key_l, record_key_r, match_probability, pair_match_weight, comparison, level_label, match_weight
        from {schema}.customer_match_evidence
        where customer_id = ?
        order by pair_match_weight desc, record_key_l, record_key_r, comparison
        """,
        [current],
    ).fetchall()
    links: dict[tuple[str, str], Link] = {}
    for left, right, probability, pair_weight, comparison, label, weight in rows:
        link = links.setdefault((left, right), Link(left, right, probability, pair_weight))
        link.evidence.append((comparison, label, weight))
    return Explanation(current, customer_id, members, list(links.values()), [])


def follow_merges(con: duckdb.DuckDBPyConnection, schema: str, customer_id: str) -> str | None:
    """The customer an ID stands for now (itself, or the survivor it was merged into, followed through chains)."""
    seen = set()
    current = customer_id
    while current not in seen:
        seen.add(current)
        row = con.execute(
            f"select status, merged_into from {schema}.customer_ids where customer_id = ?", [current]
        ).fetchone()
        if row is None:
            return None
        status, merged_into = row
        if status != "merged" or not merged_into:
            return current
        current = merged_into
    return current
