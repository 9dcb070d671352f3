{#- Every configured touchpoint (its latest version) appears exactly once in fct_touchpoints, and every order,
    ticket and marketing event in its fact mart. -#}
with

expected as (
    select touchpoint_id, kind, count(*) as versions
    from {{ ref('stg_touchpoints__records') }}
    where touchpoint_id is not null
    group by touchpoint_id, kind
),

found as (
    select touchpoint_id, count(*) as touchpoints
    from {{ ref('fct_touchpoints') }}
    group by touchpoint_id
),

facts as (
    select touchpoint_id from {{ ref('fct_orders') }}
    union all
    select touchpoint_id from {{ ref('fct_tickets') }}
    union all
    select touchpoint_id from {{ ref('fct_marketing_events') }}
),

fact_counts as (
    select touchpoint_id, count(*) as fact_rows
    from facts
    group by touchpoint_id
)

select
    coalesce(expected.touchpoint_id, found.touchpoint_id) as touchpoint_id,
    expected.kind,
    coalesce(found.touchpoints, 0) as touchpoints,
    coalesce(fact_counts.fact_rows, 0) as fact_rows
from expected
full outer join found on found.touchpoint_id = expected.touchpoint_id
left join fact_counts on fact_counts.touchpoint_id = coalesce(expected.touchpoint_id, found.touchpoint_id)
where
    coalesce(found.touchpoints, 0) != 1
    or coalesce(fact_counts.fact_rows, 0) != case when expected.kind in ('order', 'ticket', 'marketing_event') then 1 else 0 end
