{#- One row per service case (touchpoints of kind `ticket`, from every stream that has them), with the customer of
    its requester and the stream's own attributes (customer360.yml `attributes:`). -#}
{{ config(**c360_incremental_by_customer()) }}
{%- set attributes = c360_kind_attributes('ticket') -%}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
    where kind = 'ticket'
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        touchpoints.source_id as ticket_id,
        identity_map.customer_id,
        touchpoints.touchpoint_id,
        touchpoints.source_system,
        touchpoints.source_record_id,
        touchpoints.source_name,
        touchpoints.stream,
        touchpoints.summary as subject,
        touchpoints.status,
        coalesce(touchpoints.is_open, false) as is_open,
        coalesce(touchpoints.is_complaint, false) as is_complaint,
        touchpoints.channel,
        touchpoints.reference as order_number,
        touchpoints.occurred_at as created_at,
        touchpoints.updated_at,
        touchpoints.last_activity_at,
        touchpoints.csat_score,
        {%- for name in attributes %}
        touchpoints.{{ name }},
        {%- endfor %}
        touchpoints.sentiment
    from touchpoints
    left join identity_map
        on identity_map.source_system = touchpoints.source_system
        and identity_map.source_record_id = touchpoints.source_record_id
    where {{ c360_in_marts_scope('identity_map.customer_id') }}
)

select * from final
