"""A synthetic snapshot with the marts' shape (docs/marts.md), at any size, in seconds to minutes.

For the console benchmark only: generating a million people and running the whole pipeline on 2 cores takes
hours; the console's speed depends on the shape and size of the published tables, not on how they were made.
Every table is written sorted by customer_id, as publish writes them. Names, e-mails and phone numbers follow
the demo world's German name lists, so searches by name, typo, phone and e-mail behave like on real data.
"""

from __future__ import annotations

import time
from pathlib import Path

from customer360.serving.text import transliterate

ROW_GROUP_SIZE = 16_384


def _name_lists() -> tuple[list[tuple[str, str]], list[tuple[str, float]], list[tuple[str, int]]]:
    from c360_devtools.demo import names, places

    first: dict[str, str] = {}
    for generation in names.GERMAN_FIRST_NAMES.values():
        for sex, values in generation.items():
            for value in values:
                first.setdefault(value, sex)
    last = list(names.GERMAN_LAST_NAMES_TOP.items()) + [(name, 3.0) for name in names.TURKISH_LAST_NAMES]
    cities = [(city, low) for city, low, _high, _area, _weight in places.DE_CITIES]
    return list(first.items()), last, cities


def generate_snapshot(path: Path, customers: int, seed: int = 7, threads: int = 2) -> dict[str, int]:
    """Write a DuckDB file with every marts table for `customers` synthetic customers; returns row counts."""
    import duckdb
    import pyarrow as pa

    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    first, last, cities = _name_lists()
    con = duckdb.connect(config={"threads": threads, "preserve_insertion_order": True})
    try:
        con.execute("set enable_progress_bar = false")
        # sorted by customer_id with small row groups: what publish writes for fast point lookups
        con.execute(f"attach '{path}' as snap (row_group_size {ROW_GROUP_SIZE})")
        con.execute("use snap")
        con.execute("create schema marts")
        con.register(
            "first_names",
            pa.table(
                {
                    "i": list(range(len(first))),
                    "name": [n for n, _ in first],
                    "sex": [s for _, s in first],
                }
            ),
        )
        total = sum(weight for _, weight in last)
        cumulative, acc = [], 0.0
        for _, weight in last:
            acc += weight / total
            cumulative.append(acc)
        con.register(
            "last_names",
            pa.table(
                {
                    "name": [n for n, _ in last],
                    "upper": cumulative,
                    "folded": [transliterate(n).replace(" ", "") for n, _ in last],
                }
            ),
        )
        con.register(
            "cities",
            pa.table(
                {
                    "i": list(range(len(cities))),
                    "city": [c for c, _ in cities],
                    "postcode_low": [p for _, p in cities],
                }
            ),
        )
        n_first, n_cities = len(first), len(cities)
        u = f"((hash(i, {seed}, k) % 1000000007)::bigint % 1000000) / 1000000.0"  # deterministic uniform in [0, 1) per (i, k)
        con.execute(
            f"""
            create temp table people as
            with base as (
                select i, ((hash(i, {seed}, 1) % 1000000007)::bigint % {n_first}) as fi, {u.replace("k)", "2)")} as lu,
                       ((hash(i, {seed}, 3) % 1000000007)::bigint % {n_cities}) as ci, (hash(i, {seed}, 4) % 1000000007)::bigint as h
                from range({customers}) as r(i)
            )
            select base.i, 'C' || lpad(cast(base.i + 1 as varchar), 9, '0') as customer_id,
                   f.name as first_name, f.sex,
                   (select name from last_names where upper >= base.lu order by upper limit 1) as last_name,
                   c.city, lpad(cast(c.postcode_low + (base.h % 90) as varchar), 5, '0') as postcode, base.h
            from base join first_names as f on f.i = base.fi join cities as c on c.i = base.ci
            """
        )
        con.execute(
            """
            create temp table golden as
            select customer_id, i, h, first_name, last_name, first_name || ' ' || last_name as full_name,
                   regexp_replace(lower(strip_accents(replace(replace(replace(replace(first_name || '.' || last_name,
                       'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss'))), '[^a-z.]', '', 'g')
                       || cast(i % 97 as varchar) || '@' || ['gmail.com', 'web.de', 'gmx.de', 't-online.de'][1 + h % 4]
                       as email,
                   '+4915' || lpad(cast(i as varchar), 9, '0') as phone_e164,
                   date '1940-01-01' + cast(h % 23000 as integer) as date_of_birth,
                   ['Hauptstraße', 'Schulstraße', 'Gartenstraße', 'Bahnhofstraße', 'Dorfstraße'][1 + (h // 7) % 5]
                       || ' ' || cast(1 + h % 120 as varchar) as street,
                   postcode, city, 'DE' as country_code,
                   1 + (h % 10 < 4)::int + (h % 10 < 2)::int as records
            from people
            """
        )
        con.execute(
            """
            create table marts.customer_identity_map as
            with members as (
                select g.*, k from golden as g, range(3) as r(k) where k < g.records
            )
            select ['sales', 'marketing', 'service'][k + 1] as source_system,
                   case k when 0 then cast(10000000 + i as varchar)
                          when 1 then 'NL-' || lpad(cast(i as varchar), 7, '0')
                          else cast(35000000 + i as varchar) end as source_record_id,
                   customer_id,
                   ['sales', 'marketing', 'service'][k + 1] || ':' || case k when 0 then cast(10000000 + i as varchar)
                          when 1 then 'NL-' || lpad(cast(i as varchar), 7, '0')
                          else cast(35000000 + i as varchar) end as record_key,
                   case when records > 1 then 0.995 + (h % 5) / 1000.0 end as best_match_probability,
                   records as cluster_size, 'r-synthetic' as assigned_run_id,
                   case when k = 1 then replace(replace(full_name, 'ü', 'ue'), 'ö', 'oe') else full_name end as full_name,
                   first_name, last_name, email, case when k < 2 then phone_e164 end as phone_e164,
                   case when k < 2 then date_of_birth end as date_of_birth,
                   case when k < 2 then street end as street, case when k < 2 then postcode end as postcode,
                   case when k < 2 then city end as city, country_code,
                   timestamptz '2024-01-01' + to_seconds(h % 60000000) as record_updated_at
            from members order by customer_id, source_system
            """
        )
        con.execute(
            f"""
            create table marts.customer_ids as
            select customer_id, 'active' as status, null::varchar as merged_into, records as record_count,
                   'r-synthetic' as created_run_id, 'r-synthetic' as changed_run_id
            from golden
            union all
            select 'C' || lpad(cast({customers} + i + 1 as varchar), 9, '0'), 'merged', customer_id, 0,
                   'r-synthetic', 'r-synthetic'
            from golden where i % 100 = 7
            order by customer_id
            """
        )
        con.execute(
            """
            create table marts.customer_match_evidence as
            with links as (
                select customer_id, h, 'sales:' || cast(10000000 + i as varchar) as record_key_l,
                       'marketing:NL-' || lpad(cast(i as varchar), 7, '0') as record_key_r
                from golden where records > 1
            ),
            comparisons as (
                select * from (values
                    ('first_name', 'exact first name', 6.1), ('last_name', 'exact last name (folded)', 7.3),
                    ('date_of_birth', 'exact date of birth', 9.8), ('email', 'exact e-mail', 11.2),
                    ('phone', 'same phone digits', 10.4), ('address', 'same street, number and postcode', 10.9)
                ) as c(comparison, level_label, match_weight)
            )
            select customer_id, record_key_l, record_key_r, 0.999 as match_probability, 55.7 as pair_match_weight,
                   comparison, level_label, true as is_agreement, match_weight
            from links, comparisons order by customer_id, comparison
            """
        )
        con.execute(
            """
            create temp table orders as
            select 'o-' || cast(g.i as varchar) || '-' || cast(k as varchar) as order_id, g.customer_id,
                   'sales' as source_system, 'KN-' || lpad(cast(g.i * 4 + k as varchar), 9, '0') as order_number,
                   timestamptz '2023-01-01' + to_seconds(((hash(g.i, k, 11) % 1000000007)::bigint % 90000000)) as ordered_at,
                   ['web', 'app', 'store'][1 + (hash(g.i, k) % 1000000007)::bigint % 3] as channel,
                   ['completed', 'completed', 'completed', 'shipped', 'returned', 'cancelled'][1 + (hash(g.i, k, 2) % 1000000007)::bigint % 6]
                       as status,
                   round(9.99 + ((hash(g.i, k, 3) % 1000000007)::bigint % 40000) / 100.0, 2) as total_amount, 'EUR' as currency,
                   1 + (hash(g.i, k, 4) % 1000000007)::bigint % 4 as line_count
            from golden as g, range(4) as r(k) where k < g.h % 5
            """
        )
        con.execute(
            """
            create table marts.fct_orders as
            select order_id, customer_id, source_system, order_number, ordered_at, cast(ordered_at as date) as order_date,
                   channel, status, total_amount, currency, line_count, status = 'returned' as is_returned,
                   case when status in ('returned', 'cancelled') then 0 else total_amount end as net_amount
            from orders order by customer_id, ordered_at
            """
        )
        con.execute(
            """
            create table marts.fct_order_lines as
            select order_id || '-' || cast(l as varchar) as order_line_id, order_id, customer_id,
                   'SKU-' || cast((hash(order_id, l) % 1000000007)::bigint % 5000 as varchar) as sku, 'Artikel ' || cast((hash(order_id, l) % 1000000007)::bigint % 5000 as varchar)
                   as product_name, ['Mode', 'Haushalt', 'Elektronik', 'Sport'][1 + (hash(order_id, l) % 1000000007)::bigint % 4] as category,
                   1 as quantity, round(total_amount / line_count, 2) as unit_price, round(total_amount / line_count, 2)
                   as line_amount, 0 as returned_quantity
            from orders, range(4) as r(l) where l < line_count order by customer_id, order_id
            """
        )
        con.execute(
            """
            create table marts.fct_tickets as
            select 't-' || cast(i as varchar) as ticket_id, customer_id,
                   ['Wo bleibt meine Lieferung?', 'Reklamation: Artikel defekt', 'Frage zur Rechnung',
                    'Retoure anmelden'][1 + h % 4] as subject,
                   case when h % 3 = 0 then 'open' else 'solved' end as status, h % 3 = 0 as is_open,
                   ['low', 'normal', 'high'][1 + h % 3] as priority,
                   ['question', 'complaint', 'payment', 'return'][1 + h % 4] as ticket_type,
                   ['email', 'phone', 'web'][1 + h % 3] as channel, h % 4 = 1 as is_complaint,
                   null::varchar as order_number,
                   timestamptz '2024-01-01' + to_seconds(h % 60000000) as created_at,
                   timestamptz '2024-01-02' + to_seconds(h % 60000000) as updated_at,
                   case when h % 3 <> 0 then timestamptz '2024-01-03' + to_seconds(h % 60000000) end as solved_at,
                   case when h % 3 <> 0 then 1 + h % 5 end as csat_score, 1 + h % 6 as comment_count
            from golden where records = 3 or h % 7 = 0 order by customer_id
            """
        )
        con.execute(
            """
            create table marts.fct_marketing_events as
            select 'e-' || cast(g.i as varchar) || '-' || cast(k as varchar) as event_id, g.customer_id,
                   'CMP-' || cast(k as varchar) as campaign_id,
                   ['Frühlingsaktion', 'Sommer-Sale', 'Herbstneuheiten', 'Black Week', 'Weihnachten', 'Newsletter'][1 + k % 6]
                       as campaign_name,
                   ['sent', 'sent', 'open', 'click', 'sent', 'open'][1 + (hash(g.i, k) % 1000000007)::bigint % 6] as event_type,
                   timestamptz '2024-01-01' + to_seconds(k * 5000000 + g.h % 100000) as occurred_at
            from golden as g, range(6) as r(k) where g.records >= 2 and k < 2 + g.h % 5
            order by g.customer_id, occurred_at
            """
        )
        con.execute(
            """
            create table marts.fct_touchpoints as
            select * from (
                select 'order:' || order_id as touchpoint_id, customer_id, ordered_at as occurred_at, 'order' as kind,
                       channel, 'order' as touchpoint_type, 'sales' as department, 'inbound' as direction,
                       source_system, order_id as source_id,
                       'Bestellung ' || order_number || ' über ' || cast(total_amount as varchar) || ' EUR' as summary,
                       case status when 'completed' then 'positive' when 'returned' then 'negative' else 'neutral' end
                           as sentiment, status as outcome, order_number as reference
                from marts.fct_orders
                union all
                select 'ticket:' || ticket_id, customer_id, created_at, 'ticket', channel, 'ticket_' || ticket_type,
                       'service', 'inbound', 'service', ticket_id, subject,
                       case when csat_score >= 4 then 'positive' when csat_score <= 2 then 'negative' end, status, null
                from marts.fct_tickets
                union all
                select 'email:' || event_id, customer_id, occurred_at, 'marketing_event', 'email',
                       'email_' || event_type, 'marketing', case when event_type = 'sent' then 'outbound' else 'inbound' end,
                       'marketing', event_id, campaign_name, case when event_type = 'click' then 'positive' end, event_type,
                       null
                from marts.fct_marketing_events
            ) order by customer_id, occurred_at
            """
        )
        con.execute(
            """
            create table marts.dim_customer as
            select g.customer_id, g.first_name, g.last_name, g.full_name, g.email, g.phone_e164, g.date_of_birth,
                   g.street, g.postcode, g.city, g.country_code,
                   'sales' as first_name_source, 'sales' as last_name_source, 'sales' as full_name_source,
                   case when g.records > 1 then 'marketing' else 'sales' end as email_source,
                   'sales' as phone_e164_source, 'sales' as date_of_birth_source, 'sales' as street_source,
                   'sales' as postcode_source, 'sales' as city_source, 'sales' as country_code_source,
                   g.records as source_record_count,
                   ['sales', 'marketing', 'service'][1:g.records] as source_systems,
                   g.records >= 2 and g.h % 3 <> 0 as is_newsletter_subscribed,
                   case when g.records >= 2 then timestamptz '2023-06-01' + to_seconds(g.h % 40000000) end
                       as newsletter_consent_changed_at,
                   timestamptz '2022-01-01' + to_seconds(g.h % 30000000) as first_seen_at,
                   timestamptz '2025-01-01' + to_seconds(g.h % 20000000) as last_updated_at
            from golden as g order by customer_id
            """
        )
        con.execute(
            """
            create table marts.next_best_action as
            select customer_id,
                   case when t.open_complaint then 'resolve_complaint' when o.order_count = 0 then 'welcome_offer'
                        when o.order_count >= 3 then 'loyalty_reward' else 'cross_sell' end as action_code,
                   case when t.open_complaint then 'Resolve the open complaint first'
                        when o.order_count = 0 then 'Offer a welcome voucher'
                        when o.order_count >= 3 then 'Thank them with a loyalty reward'
                        else 'Recommend products matching past purchases' end as action,
                   case when t.open_complaint then 'An open complaint ticket exists'
                        when o.order_count = 0 then 'Never ordered'
                        when o.order_count >= 3 then cast(o.order_count as varchar) || ' orders'
                        else 'One or two orders so far' end as reason,
                   case when t.open_complaint then 1 when o.order_count = 0 then 3 else 2 end as priority,
                   case when t.open_complaint then 'NBA-01' when o.order_count = 0 then 'NBA-04'
                        when o.order_count >= 3 then 'NBA-03' else 'NBA-02' end as rule_id
            from golden as g
            left join (select customer_id, count(*) as order_count from marts.fct_orders group by all) as o using (customer_id)
            left join (select customer_id, bool_or(is_open and is_complaint) as open_complaint
                       from marts.fct_tickets group by all) as t using (customer_id)
            order by customer_id
            """
        )
        con.execute(
            """
            create table marts.customer_360 as
            select d.customer_id, d.full_name, d.email, d.phone_e164, d.street, d.postcode, d.city, d.country_code,
                   d.source_record_count,
                   coalesce(o.lifetime_value, 0) as lifetime_value, coalesce(o.order_count, 0) as order_count,
                   o.last_order_date, o.average_order_value,
                   coalesce(t.open_ticket_count, 0) as open_ticket_count, coalesce(t.ticket_count, 0) as ticket_count,
                   tp.last_contact_at, tp.last_contact_channel, t.average_csat,
                   coalesce(m.opens, 0) as email_opens_90d, coalesce(m.clicks, 0) as email_clicks_90d,
                   d.is_newsletter_subscribed, d.newsletter_consent_changed_at,
                   coalesce(t.open_complaint, false) as has_open_complaint,
                   (hash(d.customer_id) % 1000000007)::bigint % 11 = 0 as is_value_dropping,
                   coalesce(t.bad, false) as has_recent_bad_experience,
                   n.action as next_best_action, n.reason as next_best_action_reason
            from marts.dim_customer as d
            left join (select customer_id, sum(net_amount) as lifetime_value, count(*) as order_count,
                              max(order_date) as last_order_date, round(avg(total_amount), 2) as average_order_value
                       from marts.fct_orders group by all) as o using (customer_id)
            left join (select customer_id, count(*) filter (where is_open) as open_ticket_count, count(*) as ticket_count,
                              avg(csat_score) as average_csat, bool_or(is_open and is_complaint) as open_complaint,
                              bool_or(csat_score <= 2) as bad
                       from marts.fct_tickets group by all) as t using (customer_id)
            left join (select customer_id, max(occurred_at) as last_contact_at,
                              arg_max(channel, occurred_at) as last_contact_channel
                       from marts.fct_touchpoints group by all) as tp using (customer_id)
            left join (select customer_id, count(*) filter (where event_type = 'open') as opens,
                              count(*) filter (where event_type = 'click') as clicks
                       from marts.fct_marketing_events group by all) as m using (customer_id)
            left join marts.next_best_action as n using (customer_id)
            order by customer_id
            """
        )
        con.execute(
            """
            create table marts.touchpoint_kpis as
            select touchpoint_type, channel, count(*) as touchpoints, count(distinct customer_id) as customers_reached,
                   null::double as average_csat, avg((sentiment = 'negative')::int) as negative_share,
                   null::double as ordered_again_within_90d_share
            from marts.fct_touchpoints group by all
            """
        )
        counts = {
            table: con.execute(f"select count(*) from marts.{table}").fetchone()[0]  # type: ignore[index]
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where database_name = 'snap' and schema_name = 'marts' order by 1"
            ).fetchall()
        }
        con.execute("checkpoint")
    finally:
        con.close()
    counts["seconds"] = round(time.perf_counter() - started)
    return counts
