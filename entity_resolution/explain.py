"""Why are these records one customer? Match evidence per link, written for every run.

`build_match_evidence` writes entity_resolution.match_evidence: for every accepted link inside a customer, one
row per comparison with the level that applied (its chart label) and its match weight (log2 Bayes factor,
term-frequency adjustment included). dbt publishes it as marts.customer_match_evidence, which is what
`c360 explain` and the console read (customer360/serving/explain.py), in the warehouse or a published snapshot.
"""

from __future__ import annotations

from typing import Any

import duckdb

from customer360.core.warehouse import table_exists
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
        # the scope's customers are rebuilt below; records that left the sources (or were erased) leave with them
        con.execute(
            f"""
            delete from {ER}.match_evidence
            where record_key_l in (select record_key from {scope_table})
               or record_key_l not in (select record_key from {ER}.identity_map)
               or record_key_r not in (select record_key from {ER}.identity_map)
            """
        )
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
