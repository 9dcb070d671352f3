{#-
    How each kind of touchpoint works, per touchpoint type × channel: volume, customers reached, satisfaction,
    share of negative experiences, and what customers did next — the share of touchpoints after which the
    customer ordered again within 90 days. That share only counts touchpoints at least 90 days before the
    reference time (later ones cannot be judged yet), and only mapped customers.
-#}
{%- set follow_up_days = var('c360_follow_up_days', 90) -%}
with

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
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
    where customer_id is not null and not is_cancelled
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
        touchpoint_type,
        channel,
        min(department) as department,
        min(direction) as direction,
        count(*) as touchpoints,
        count(distinct customer_id) as customers_reached,
        round(avg(csat_score), 2) as average_csat,
        count(csat_score) as rated_touchpoints,
        round(count(*) filter (where sentiment = 'positive') / count(*), 4) as positive_share,
        round(count(*) filter (where sentiment = 'negative') / count(*), 4) as negative_share,
        count(*) filter (where is_follow_up_observable) as follow_up_observable_touchpoints,
        round(
            count(*) filter (where is_follow_up_observable and has_ordered_within_follow_up)
            / nullif(count(*) filter (where is_follow_up_observable), 0),
            4
        ) as ordered_again_within_90d_share,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at
    from touchpoints_judged
    group by touchpoint_type, channel
)

select * from final
