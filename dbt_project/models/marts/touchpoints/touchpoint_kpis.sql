{#-
    How each kind of touchpoint works, per touchpoint type × channel: volume, customers reached, satisfaction,
    share of negative experiences, and what customers did next — the share of touchpoints after which the
    customer ordered again within 90 days. That share only counts touchpoints at least 90 days before the
    reference time (later ones cannot be judged yet), and only mapped customers. Counted per customer in
    int_customer_touchpoint_kpis (rewritten only for the customers a decision changed) and added up here.
-#}
with

per_customer as (
    select * from {{ ref('int_customer_touchpoint_kpis') }}
),

final as (
    select
        touchpoint_type,
        channel,
        min(department) as department,
        min(direction) as direction,
        sum(touchpoints)::bigint as touchpoints,
        count(customer_id) as customers_reached,
        round(sum(csat_sum) / nullif(sum(rated_touchpoints), 0), 2) as average_csat,
        sum(rated_touchpoints)::bigint as rated_touchpoints,
        round(sum(positive_touchpoints) / sum(touchpoints), 4) as positive_share,
        round(sum(negative_touchpoints) / sum(touchpoints), 4) as negative_share,
        sum(follow_up_observable_touchpoints)::bigint as follow_up_observable_touchpoints,
        round(sum(ordered_again_touchpoints) / nullif(sum(follow_up_observable_touchpoints), 0), 4)
            as ordered_again_within_90d_share,
        min(first_occurred_at) as first_occurred_at,
        max(last_occurred_at) as last_occurred_at
    from per_customer
    group by touchpoint_type, channel
)

select * from final
