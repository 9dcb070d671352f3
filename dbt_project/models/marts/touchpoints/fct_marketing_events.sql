{#- One row per marketing event (touchpoints of kind `marketing_event`: sent, delivered, open, click, bounce,
    unsubscribe), with the customer of the contact it concerns and the stream's own attributes. -#}
{{ config(**c360_incremental_by_customer()) }}
{%- set attributes = c360_kind_attributes('marketing_event') -%}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
    where kind = 'marketing_event'
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        touchpoints.source_id as event_id,
        identity_map.customer_id,
        touchpoints.touchpoint_id,
        touchpoints.source_system,
        touchpoints.source_record_id,
        touchpoints.source_name,
        touchpoints.stream,
        touchpoints.summary as campaign_name,
        touchpoints.channel,
        touchpoints.engagement as event_type,
        touchpoints.occurred_at,
        touchpoints.recipient as email,
        {%- for name in attributes %}
        touchpoints.{{ name }},
        {%- endfor %}
        touchpoints.touchpoint_type
    from touchpoints
    left join identity_map
        on identity_map.source_system = touchpoints.source_system
        and identity_map.source_record_id = touchpoints.source_record_id
    where {{ c360_in_marts_scope('identity_map.customer_id') }}
)

select * from final
