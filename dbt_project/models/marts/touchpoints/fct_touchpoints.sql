{#- Every interaction of every silo on one timeline, keyed by customer_id. -#}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        touchpoints.touchpoint_id,
        identity_map.customer_id,
        touchpoints.occurred_at,
        cast(timezone('Europe/Berlin', touchpoints.occurred_at) as date) as occurred_date,
        touchpoints.last_activity_at,
        touchpoints.channel,
        touchpoints.touchpoint_type,
        touchpoints.department,
        touchpoints.direction,
        touchpoints.source_system,
        touchpoints.source_table,
        touchpoints.source_id,
        touchpoints.source_record_id,
        touchpoints.summary,
        touchpoints.sentiment,
        touchpoints.outcome,
        touchpoints.csat_score,
        touchpoints.amount
    from touchpoints
    left join identity_map
        on identity_map.source_system = touchpoints.source_system
        and identity_map.source_record_id = touchpoints.source_record_id
)

select * from final
