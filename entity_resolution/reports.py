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


def write_charts(con: duckdb.DuckDBPyConnection, model: TrainedModel, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    db_api = splink_api(con)
    columns = ", ".join(model.spec.columns)
    records = db_api.register(con.sql(f"select {columns} from {ER}.records"), table_name="chart_records")
    linker = load_linker(con, model, records, db_api)
    written = []

    for name, chart in (
        ("match_weights.html", linker.visualisations.match_weights_chart()),
        ("m_u_parameters.html", linker.visualisations.m_u_parameters_chart()),
    ):
        chart.save(str(out_dir / name))
        written.append(out_dir / name)

    sample = con.execute(
        f"""
        (select p.* from {ER}.pairs as p join {ER}.links as k using (record_key_l, record_key_r)
         where k.is_accepted order by p.match_weight desc, record_key_l limit 10)
        union all
        (select p.* from {ER}.pairs as p join {ER}.links as k using (record_key_l, record_key_r)
         where k.is_accepted order by p.match_weight, record_key_l limit 10)
        union all
        (select p.* from {ER}.pairs as p join {ER}.links as k using (record_key_l, record_key_r)
         where not k.is_accepted order by p.match_weight desc, record_key_l limit 10)
        """
    ).fetchdf()
    if len(sample):
        path = out_dir / "waterfall.html"
        linker.visualisations.waterfall_chart(sample.to_dict("records"), filter_nulls=False).save(str(path))
        written.append(path)

    cluster_ids = [
        row[0]
        for row in con.execute(
            f"""
            with sized as (select customer_id, count(*) as records from {ER}.identity_map group by all having count(*) > 1)
            (select customer_id from sized order by records desc, customer_id limit {STUDIO_CLUSTERS // 2})
            union
            (select distinct m.customer_id from {ER}.bridge_records as b join {ER}.identity_map as m using (record_key)
             order by 1 limit {STUDIO_CLUSTERS // 4})
            union
            (select customer_id from sized order by hash(customer_id) limit {STUDIO_CLUSTERS // 4})
            """
        ).fetchall()
    ]
    if cluster_ids:
        con.execute(
            "create or replace temp table studio_customers as select unnest(?::varchar[]) as customer_id", [cluster_ids]
        )
        clustered = db_api.register(
            con.sql(
                f"""
                select m.customer_id as cluster_id, r.*
                from {ER}.records as r join {ER}.identity_map as m using (record_key)
                semi join studio_customers using (customer_id)
                """
            ),
            table_name="chart_clusters",
        )
        predictions = db_api.register(
            con.sql(
                f"""
                select p.* from {ER}.pairs as p
                join {ER}.identity_map as l on l.record_key = p.record_key_l
                join {ER}.identity_map as r on r.record_key = p.record_key_r and r.customer_id = l.customer_id
                semi join studio_customers on studio_customers.customer_id = l.customer_id
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
