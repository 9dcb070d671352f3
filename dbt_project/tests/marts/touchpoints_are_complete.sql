{#- Every configured touchpoint (its latest version) appears exactly once in fct_touchpoints, and every order,
    ticket and marketing event in its fact mart. A scoped build checks the touchpoints of the customers in scope
    (the only rows it wrote): those the identity map gives them now, and those the facts hold for them. -#}
{%- set scoped = c360_marts_scoped() %}
-- depends_on: {{ ref('int_touchpoints_unioned') }}, {{ ref('stg_entity_resolution__identity_map') }}
-- depends_on: {{ ref('stg_touchpoints__records') }}
with

expected as (
    {%- if scoped %}
    select touchpoints.touchpoint_id, touchpoints.kind
    from {{ ref('int_touchpoints_unioned') }} as touchpoints
    inner join {{ ref('stg_entity_resolution__identity_map') }} as identity_map
        on identity_map.source_system = touchpoints.source_system
        and identity_map.source_record_id = touchpoints.source_record_id
    where {{ c360_in_marts_scope('identity_map.customer_id') }}
    {%- else %}
    select distinct touchpoint_id, kind
    from {{ ref('stg_touchpoints__records') }}
    where touchpoint_id is not null
    {%- endif %}
),
{%- if scoped %}

in_scope as (
    select touchpoint_id from expected
    union
    select touchpoint_id from {{ ref('fct_touchpoints') }} where {{ c360_in_marts_scope('customer_id') }}
),
{%- endif %}

found as (
    select touchpoint_id, count(*) as touchpoints
    from {{ ref('fct_touchpoints') }}
    {%- if scoped %}
    where touchpoint_id in (select touchpoint_id from in_scope)
    {%- endif %}
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
    {%- if scoped %}
    where touchpoint_id in (select touchpoint_id from in_scope)
    {%- endif %}
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
