{#-
    Every interaction of every configured touchpoint stream on one timeline, before customers are known: the
    latest version of each touchpoint, keyed by the identity record it belongs to (source_system,
    source_record_id), with the product's defaults where the configuration says nothing:

    - source_record_id: the stream's `record` value, or — with `record_key` — the id of the identity record that
      holds that key (an order's customer number → the shop account);
    - touchpoint_type: the kind; channel: `unknown`; summary: `<kind> <id>`; direction: `outbound` for mass
      mailings sent, delivered or bounced, else `inbound`;
    - revenue of an order: its amount, 0 when cancelled;
    - sentiment: from the rating (4-5 positive, 3 neutral, 1-2 negative), else negative for a complaint, a
      cancelled or returned order or an unsubscribe, positive for a click;
    - outcome: `open` / `resolved` for cases, else the engagement or the status.
    fct_touchpoints adds the customer_id.
-#}
with

records as (
    select * from {{ ref('stg_touchpoints__records') }}
    where touchpoint_id is not null
),

lookups as (
    {{ c360_record_lookups(var('c360_touchpoint_streams'), 'stream') }}
),

latest as (
    select *
    from records
    qualify row_number() over (
        partition by touchpoint_id
        order by coalesce(updated_at, occurred_at) desc nulls last, loaded_at desc nulls last,
            batch_id desc nulls last, batch_row_number desc nulls last
    ) = 1
),

keyed as (
    select
        latest.* exclude (record_value, is_record_looked_up),
        case
            when latest.is_record_looked_up then lookups.source_record_id
            else latest.record_value
        end as source_record_id
    from latest
    left join lookups
        on latest.is_record_looked_up
        and lookups.source_name = latest.source_name
        and lookups.item_name = latest.stream
        and lookups.lookup_value = latest.record_value
),

final as (
    select
        * exclude (touchpoint_type, summary, channel, direction, sentiment, revenue, last_activity_at),
        coalesce(last_activity_at, occurred_at) as last_activity_at,
        coalesce(channel, 'unknown') as channel,
        coalesce(touchpoint_type, kind) as touchpoint_type,
        coalesce(summary, replace(kind, '_', ' ') || ' ' || source_id) as summary,
        coalesce(
            direction,
            case when engagement in ('sent', 'delivered', 'bounce') then 'outbound' else 'inbound' end
        ) as direction,
        coalesce(
            revenue,
            case when kind = 'order' then case when coalesce(is_cancelled, false) then 0 else amount end end
        ) as revenue,
        coalesce(
            sentiment,
            case
                when csat_score >= 4 then 'positive'
                when csat_score >= 3 then 'neutral'
                when csat_score is not null then 'negative'
                when is_complaint or is_cancelled or is_returned then 'negative'
                when engagement = 'unsubscribe' then 'negative'
                when engagement = 'click' then 'positive'
            end
        ) as sentiment,
        case
            when is_open then 'open'
            when not is_open then 'resolved'
            else coalesce(engagement, status)
        end as outcome
    from keyed
)

select * from final
