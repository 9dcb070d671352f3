"""Stable customer IDs across runs, in set-based SQL.

Rules (precision first, nothing hidden):
- every previous customer has an heir: the new cluster holding most of its records (ties: smallest cluster key);
- a cluster keeps at most one previous ID: of the customers whose heir it is, the one sharing most records
  (ties: the oldest ID). The other customers are recorded as *merged* into it;
- a cluster that is nobody's heir gets a new ID: *created*, or *split* when its records came from an existing
  customer (the larger part of a split keeps the ID, the rest get new IDs);
- records that move between two surviving customers are recorded as *records_moved*;
- a customer whose records have all disappeared from the sources is *retired*.
Every event lands in entity_resolution.customer_id_history with the run id; retired and merged IDs stay in
entity_resolution.customers, so an old ID can always be followed to its survivor.
"""

from __future__ import annotations

import duckdb

ER = "entity_resolution"
ID_PREFIX = "C"
ID_DIGITS = 9

DDL = f"""
create table if not exists {ER}.identity_map (
    record_key varchar not null,          -- unique: tested in dbt (an index would make every rewrite slow)
    source_system varchar not null,
    source_record_id varchar not null,
    customer_id varchar not null,
    best_match_probability double,
    cluster_size integer not null,
    assigned_run_id varchar not null
);
create table if not exists {ER}.customers (
    customer_id varchar primary key,
    status varchar not null,              -- active, merged, retired
    merged_into varchar,
    record_count integer not null,
    created_run_id varchar not null,
    changed_run_id varchar not null
);
create table if not exists {ER}.customer_id_history (
    run_id varchar not null,
    event varchar not null,               -- created, merged, split, records_moved, retired
    customer_id varchar not null,
    related_customer_id varchar,
    records integer,
    recorded_at timestamptz not null
);
"""


def assign_customer_ids(
    con: duckdb.DuckDBPyConnection, run_id: str, scope_table: str | None = None, removed_table: str | None = None
) -> dict[str, int]:
    """Turn entity_resolution.components (record → cluster) into stable customer IDs; returns event counts.

    `scope_table` limits the work to the records an incremental run re-clustered (whole previous customers are
    always inside or outside it); `removed_table` lists records that left the sources. Without them, everything."""
    con.execute(DDL)
    in_scope = f"where record_key in (select record_key from {scope_table})" if scope_table else ""
    removed = f"union all select record_key from {removed_table}" if removed_table else ""
    previous_scope = f"where record_key in (select record_key from {scope_table} {removed})" if scope_table else ""
    con.execute(
        f"""
        create or replace temp table scoped_components as select * from {ER}.components {in_scope};
        create or replace temp table previous_ids as select record_key, customer_id from {ER}.identity_map {previous_scope};

        create or replace temp table overlap as
        select c.cluster_key, p.customer_id, count(*) as shared
        from scoped_components as c join previous_ids as p using (record_key)
        group by all;

        create or replace temp table heirs as
        select customer_id, cluster_key, shared from overlap
        qualify row_number() over (partition by customer_id order by shared desc, cluster_key) = 1;

        create or replace temp table survivors as
        select cluster_key, customer_id from heirs
        qualify row_number() over (partition by cluster_key order by shared desc, customer_id) = 1;

        create or replace temp table cluster_sizes as
        select cluster_key, count(*) as records from scoped_components group by all;

        create or replace temp table new_clusters as
        select
            cluster_sizes.cluster_key,
            cluster_sizes.records,
            '{ID_PREFIX}' || lpad(cast(
                coalesce((select max(cast(substr(customer_id, {len(ID_PREFIX) + 1}) as bigint)) from {ER}.customers), 0)
                + row_number() over (order by cluster_sizes.cluster_key) as varchar), {ID_DIGITS}, '0') as customer_id
        from cluster_sizes
        anti join survivors using (cluster_key);

        create or replace temp table cluster_ids as
        select cluster_key, customer_id, false as is_new from survivors
        union all
        select cluster_key, customer_id, true from new_clusters;
        """
    )

    events = con.execute(
        f"""
        create or replace temp table run_events as
        -- brand-new customers, and parts split off an existing one (related: where most of its records came from)
        select
            case when origin.customer_id is null then 'created' else 'split' end as event,
            new_clusters.customer_id,
            origin.customer_id as related_customer_id,
            new_clusters.records
        from new_clusters
        left join (
            select cluster_key, customer_id from overlap
            qualify row_number() over (partition by cluster_key order by shared desc, customer_id) = 1
        ) as origin using (cluster_key)
        union all
        -- absorbed into the survivor of their heir cluster
        select 'merged', heirs.customer_id, survivors.customer_id, heirs.shared
        from heirs join survivors using (cluster_key)
        where heirs.customer_id <> survivors.customer_id
        union all
        -- records that moved between two customers that both survive
        select 'records_moved', receiving.customer_id, overlap.customer_id, overlap.shared
        from overlap
        join survivors as receiving using (cluster_key)
        join heirs on heirs.customer_id = overlap.customer_id and heirs.cluster_key <> overlap.cluster_key
        where overlap.customer_id in (select customer_id from survivors)
        union all
        -- nothing left of them
        select 'retired', customers.customer_id, null, 0
        from {ER}.customers as customers
        where customers.status = 'active'
          and customers.customer_id in (select customer_id from previous_ids)
          and customers.customer_id not in (select customer_id from overlap);

        select event, count(*) from run_events group by event
        """
    ).fetchall()

    con.execute(
        f"""
        insert into {ER}.customer_id_history
        select '{run_id}', event, customer_id, related_customer_id, records, now() from run_events;

        create or replace temp table best_links as
        with ends as (
            select record_key_l as record_key, record_key_r as other_key, match_probability from {ER}.links where is_accepted
            union all
            select record_key_r, record_key_l, match_probability from {ER}.links where is_accepted
        )
        select ends.record_key, max(ends.match_probability) as best_match_probability
        from ends
        join scoped_components as own on own.record_key = ends.record_key
        join scoped_components as other on other.record_key = ends.other_key and other.cluster_key = own.cluster_key
        group by ends.record_key;

        create or replace temp table next_identity_map as
        select
            c.record_key,
            r.source_system,
            r.source_record_id,
            ids.customer_id,
            best_links.best_match_probability,
            cast(sizes.records as integer) as cluster_size,
            coalesce(
                case when previous.customer_id = ids.customer_id then previous.assigned_run_id end, '{run_id}'
            ) as assigned_run_id
        from scoped_components as c
        join {ER}.records as r using (record_key)
        join cluster_ids as ids using (cluster_key)
        join cluster_sizes as sizes using (cluster_key)
        left join best_links using (record_key)
        left join {ER}.identity_map as previous using (record_key);
        """
    )
    if scope_table:
        con.execute(
            f"""
            delete from {ER}.identity_map where record_key in (select record_key from previous_ids);
            insert into {ER}.identity_map select * from next_identity_map;
            """
        )
    else:
        con.execute(f"create or replace table {ER}.identity_map as select * from next_identity_map")
    con.execute(
        f"""

        insert into {ER}.customers
        select customer_id, 'active', null, records, '{run_id}', '{run_id}' from new_clusters;

        update {ER}.customers as customers
        set status = 'merged', merged_into = run_events.related_customer_id, changed_run_id = '{run_id}'
        from run_events
        where run_events.event = 'merged' and customers.customer_id = run_events.customer_id;

        update {ER}.customers as customers
        set status = 'retired', changed_run_id = '{run_id}'
        from run_events
        where run_events.event = 'retired' and customers.customer_id = run_events.customer_id;

        update {ER}.customers as customers
        set record_count = sizes.records, changed_run_id = '{run_id}'
        from survivors join cluster_sizes as sizes using (cluster_key)
        where customers.customer_id = survivors.customer_id and customers.record_count <> sizes.records;
        """
    )
    return dict(events)
