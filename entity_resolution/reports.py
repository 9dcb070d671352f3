"""Splink's HTML charts for a resolution run, written to <data_dir>/reports/resolution/<run_id>/.

- match_weights.html   every comparison level's match weight (what agreement on each field is worth)
- m_u_parameters.html  the m and u probabilities behind them (check what training learned)
- waterfall.html       how the weights add up for a sample of links (the strongest, weakest and vetoed)
- cluster_studio.html  a sample of customers as graphs: the largest, those with bridge records, random ones
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import duckdb

from entity_resolution.model import TrainedModel, load_linker, splink_api

log = logging.getLogger(__name__)

ER = "entity_resolution"
WATERFALL_PAIRS = 30
STUDIO_CLUSTERS = 20


def write_charts(
    con: duckdb.DuckDBPyConnection, model: TrainedModel, out_dir: Path, scope_table: str | None = None
) -> list[Path]:
    """Write the charts; with `scope_table` (record_key: the records an incremental run re-clustered) the waterfall
    and cluster studio sample only what this run touched, so a small run does not scan every pair again."""
    out_dir.mkdir(parents=True, exist_ok=True)
    db_api = splink_api(con)
    # the linker only draws what it is given: an empty input with the model's columns is enough
    columns = ", ".join(model.spec.columns)
    records = db_api.register(con.sql(f"select {columns} from {ER}.records limit 0"), table_name="chart_records")
    linker = load_linker(con, model, records, db_api)
    written = []

    for name, chart in (
        ("match_weights.html", linker.visualisations.match_weights_chart()),
        ("m_u_parameters.html", linker.visualisations.m_u_parameters_chart()),
    ):
        chart.save(str(out_dir / name))
        written.append(out_dir / name)

    touched = (
        f"where record_key_l in (select record_key from {scope_table})"
        f" or record_key_r in (select record_key from {scope_table})"
        if scope_table
        else ""
    )
    per_part = WATERFALL_PAIRS // 3
    sample = con.execute(
        f"""
        with chart_links as materialized (
            select record_key_l, record_key_r, is_accepted, match_weight from {ER}.links {touched}
        ),
        chosen as (  -- the strongest, the weakest and the strongest vetoed links, in that order
            (select 1 as part, * from chart_links where is_accepted order by match_weight desc, record_key_l limit {per_part})
            union all
            (select 2, * from chart_links where is_accepted order by match_weight, record_key_l limit {per_part})
            union all
            (select 3, * from chart_links where not is_accepted order by match_weight desc, record_key_l limit {per_part})
        )
        select p.* from {ER}.pairs as p join chosen using (record_key_l, record_key_r)
        order by chosen.part, chosen.match_weight desc, record_key_l
        """
    ).fetchdf()
    if len(sample):
        path = out_dir / "waterfall.html"
        linker.visualisations.waterfall_chart(sample.to_dict("records"), filter_nulls=False).save(str(path))
        written.append(path)

    scoped_map = (
        f"(select * from {ER}.identity_map semi join {scope_table} using (record_key))"
        if scope_table
        else f"{ER}.identity_map"
    )
    con.execute(
        f"""
        create or replace temp table studio_customers as
        with sized as (select customer_id, count(*) as records from {scoped_map} group by all having count(*) > 1)
        (select customer_id from sized order by records desc, customer_id limit {STUDIO_CLUSTERS // 2})
        union
        (select distinct m.customer_id from {ER}.bridge_records as b join {scoped_map} as m using (record_key)
         order by 1 limit {STUDIO_CLUSTERS // 4})
        union
        (select customer_id from sized order by hash(customer_id) limit {STUDIO_CLUSTERS // 4});

        create or replace temp table studio_records as
        select record_key, customer_id from {ER}.identity_map semi join studio_customers using (customer_id);
        """
    )
    cluster_ids = [row[0] for row in con.execute("select customer_id from studio_customers order by 1").fetchall()]
    if cluster_ids:
        clustered = db_api.register(
            con.sql(
                f"""
                select m.customer_id as cluster_id, r.*
                from {ER}.records as r join studio_records as m using (record_key)
                """
            ),
            table_name="chart_clusters",
        )
        predictions = db_api.register(
            con.sql(
                f"""
                select p.* from {ER}.pairs as p
                join studio_records as l on l.record_key = p.record_key_l
                join studio_records as r on r.record_key = p.record_key_r and r.customer_id = l.customer_id
                """
            ),
            table_name="chart_pairs",
        )
        path = out_dir / "cluster_studio.html"
        linker.visualisations.cluster_studio_dashboard(
            predictions, clustered, str(path), cluster_ids=cluster_ids, overwrite=True
        )
        written.append(path)
    for name in (
        "chart_records",
        "chart_clusters",
        "chart_pairs",
        *(f"frozen_tf_{c}" for c in model.spec.tf_columns()),
    ):
        with contextlib.suppress(duckdb.Error):  # registered only when that chart was drawn
            con.unregister(name)
    log.info("resolution charts in %s", out_dir)
    return written
