"""Why are these records one customer? Match evidence per link, and explanations for people.

`build_match_evidence` writes entity_resolution.match_evidence: for every accepted link inside a customer, one
row per comparison with the level that applied (its chart label) and its match weight (log2 Bayes factor,
term-frequency adjustment included). dbt publishes it as marts.customer_match_evidence, which is what
`c360 explain` and the console read, so explanations work on the published snapshot too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from customer360.warehouse import table_exists
from entity_resolution.model import TrainedModel

ER = "entity_resolution"


def level_labels(settings: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(comparison, gamma value, label) as Splink numbers levels: null level -1, then n-1 … 0 from the top."""
    rows = []
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        non_null = [level for level in levels if not level.get("is_null_level")]
        gamma = len(non_null) - 1
        for level in levels:
            label = level.get("label_for_charts") or level.get("sql_condition", "")
            if level.get("is_null_level"):
                rows.append((name, -1, label or "missing on one side"))
            else:
                rows.append((name, gamma, label))
                gamma -= 1
    return rows


def build_match_evidence(con: duckdb.DuckDBPyConnection, model: TrainedModel, scope_table: str | None = None) -> None:
    """(Re)build entity_resolution.match_evidence: for all customers, or only those whose records are in
    `scope_table` (an incremental run re-clusters only those; everybody else's evidence is unchanged)."""
    settings = model.settings
    comparisons = [comparison["output_column_name"] for comparison in settings["comparisons"]]
    pair_columns = {row[0] for row in con.execute(f"select * from {ER}.pairs limit 0").description}
    con.execute("create or replace temp table level_labels (comparison varchar, gamma integer, label varchar)")
    con.executemany("insert into level_labels values (?, ?, ?)", level_labels(settings))
    per_comparison = []
    for name in comparisons:
        tf_adjustment = f' + coalesce("mw_tf_adj_{name}", 0)' if f"mw_tf_adj_{name}" in pair_columns else ""
        per_comparison.append(
            f"""
            select record_key_l, record_key_r, '{name}' as comparison, "gamma_{name}" as gamma,
                   "mw_{name}"{tf_adjustment} as match_weight
            from accepted_pairs
            """
        )
    in_scope = f"semi join {scope_table} as scope on scope.record_key = pairs.record_key_l" if scope_table else ""
    if scope_table and table_exists(con, ER, "match_evidence"):
        con.execute(f"delete from {ER}.match_evidence where record_key_l in (select record_key from {scope_table})")
        target = f"insert into {ER}.match_evidence"
    else:
        target = f"create or replace table {ER}.match_evidence as"
    con.execute(
        f"""
        {target}
        with accepted_pairs as (
            select pairs.*
            from {ER}.pairs as pairs
            {in_scope}
            join {ER}.identity_map as l on l.record_key = pairs.record_key_l
            join {ER}.identity_map as r on r.record_key = pairs.record_key_r and r.customer_id = l.customer_id
            semi join {ER}.links as links
                on links.record_key_l = pairs.record_key_l and links.record_key_r = pairs.record_key_r and links.is_accepted
        ),
        by_comparison as (
            {" union all ".join(per_comparison)}
        )
        select
            ids.customer_id,
            by_comparison.record_key_l,
            by_comparison.record_key_r,
            pairs.match_probability,
            pairs.match_weight as pair_match_weight,
            by_comparison.comparison,
            coalesce(level_labels.label, 'level ' || by_comparison.gamma) as level_label,
            by_comparison.gamma >= 0 and by_comparison.match_weight > 0 as is_agreement,
            case when by_comparison.gamma = -1 then 0.0 else by_comparison.match_weight end as match_weight
        from by_comparison
        join {ER}.pairs as pairs using (record_key_l, record_key_r)
        join {ER}.identity_map as ids on ids.record_key = by_comparison.record_key_l
        left join level_labels on level_labels.comparison = by_comparison.comparison and level_labels.gamma = by_comparison.gamma
        """
    )


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
    current = _follow_merges(con, schema, customer_id)
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


def _follow_merges(con: duckdb.DuckDBPyConnection, schema: str, customer_id: str) -> str | None:
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
