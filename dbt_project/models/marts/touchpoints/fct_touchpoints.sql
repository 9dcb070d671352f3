{#- Every interaction of every configured touchpoint stream on one timeline, keyed by customer_id. -#}
{{ config(**c360_incremental_by_customer()) }}
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
        {{ c360_local_date('touchpoints.occurred_at') }} as occurred_date,
        touchpoints.last_activity_at,
        touchpoints.kind,
        touchpoints.channel,
        touchpoints.touchpoint_type,
        touchpoints.department,
        touchpoints.direction,
        touchpoints.source_system,
        touchpoints.source_name,
        touchpoints.stream,
        touchpoints.source_table,
        touchpoints.source_id,
        touchpoints.source_record_id,
        touchpoints.summary,
        touchpoints.status,
        touchpoints.sentiment,
        touchpoints.outcome,
        touchpoints.reference,
        touchpoints.csat_score,
        touchpoints.amount,
        touchpoints.currency,
        touchpoints.revenue,
        touchpoints.is_cancelled,
        touchpoints.is_returned,
        touchpoints.is_open,
        touchpoints.is_complaint,
        touchpoints.engagement,
        touchpoints.recipient,
        touchpoints.loaded_at
    from touchpoints
    left join identity_map
        on identity_map.source_system = touchpoints.source_system
        and identity_map.source_record_id = touchpoints.source_record_id
    where {{ c360_in_marts_scope('identity_map.customer_id') }}
)

select * from final
