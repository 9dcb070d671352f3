{#- Every order, ticket, campaign event and newsletter opt-in appears exactly once in fct_touchpoints. -#}
with

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
),

expected as (
    select 'orders' as source_table, order_id as source_id from {{ ref('fct_orders') }}
    union all
    select 'tickets', ticket_id from {{ ref('fct_tickets') }}
    union all
    select 'campaign_events', event_id from {{ ref('fct_marketing_events') }}
    union all
    select 'contacts', contact_id from {{ ref('stg_marketing__contacts') }} where newsletter_subscribed_at is not null
),

found as (
    select source_table, source_id, count(*) as touchpoints
    from touchpoints
    where touchpoint_type != 'newsletter_opt_out'
    group by source_table, source_id
)

select
    coalesce(expected.source_table, found.source_table) as source_table,
    coalesce(expected.source_id, found.source_id) as source_id,
    coalesce(found.touchpoints, 0) as touchpoints
from expected
full outer join found
    on found.source_table = expected.source_table
    and found.source_id = expected.source_id
where coalesce(found.touchpoints, 0) != 1 or expected.source_id is null
