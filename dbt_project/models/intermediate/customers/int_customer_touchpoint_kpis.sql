{#-
    touchpoint_kpis per customer: the same counts per touchpoint type × channel, one row per customer (and one per
    type × channel for the touchpoints without a customer), so that a build after a decision recounts only the
    customers it changed and touchpoint_kpis adds the rows up instead of judging every touchpoint again.
-#}
{{ config(**c360_incremental_by_customer()) }}
{%- set follow_up_days = var('c360_follow_up_days', 90) -%}
with

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

reference_time as (
    select reference_at from {{ ref('int_reference_time') }}
),

kept_orders as (
    select customer_id, ordered_at
    from orders
    where customer_id is not null and not is_cancelled and {{ c360_in_marts_scope('customer_id') }}
),

touchpoints_judged as (
    select
        touchpoints.*,
        touchpoints.customer_id is not null
            and touchpoints.occurred_at <= reference_time.reference_at - to_days({{ follow_up_days }})
            as is_follow_up_observable,
        exists (
            select 1
            from kept_orders
            where
                kept_orders.customer_id = touchpoints.customer_id
                and kept_orders.ordered_at > touchpoints.occurred_at
                and kept_orders.ordered_at <= touchpoints.occurred_at + to_days({{ follow_up_days }})
        ) as has_ordered_within_follow_up
    from touchpoints
    cross join reference_time
    where touchpoints.occurred_at <= reference_time.reference_at
),

final as (
    select
        customer_id,
        touchpoint_type,
        channel,
        min(department) as department,
        min(direction) as direction,
        count(*) as touchpoints,
        sum(csat_score) as csat_sum,
        count(csat_score) as rated_touchpoints,
        count(*) filter (where sentiment = 'positive') as positive_touchpoints,
        count(*) filter (where sentiment = 'negative') as negative_touchpoints,
        count(*) filter (where is_follow_up_observable) as follow_up_observable_touchpoints,
        count(*) filter (where is_follow_up_observable and has_ordered_within_follow_up) as ordered_again_touchpoints,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at
    from touchpoints_judged
    group by customer_id, touchpoint_type, channel
)

select * from final
