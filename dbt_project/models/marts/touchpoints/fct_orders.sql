{#- One row per order (touchpoints of kind `order`, from every stream that has them), with the customer who placed
    it and the stream's own attributes (customer360.yml `attributes:`). -#}
{{ config(**c360_incremental_by_customer()) }}
{%- set attributes = c360_kind_attributes('order') -%}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
    where kind = 'order'
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        touchpoints.source_id as order_id,
        identity_map.customer_id,
        touchpoints.touchpoint_id,
        touchpoints.source_system,
        touchpoints.source_record_id,
        touchpoints.source_name,
        touchpoints.stream,
        touchpoints.reference as order_number,
        touchpoints.occurred_at as ordered_at,
        {{ c360_local_date('touchpoints.occurred_at') }} as order_date,
        touchpoints.channel,
        touchpoints.status,
        touchpoints.amount as total_amount,
        touchpoints.currency,
        cast(coalesce(touchpoints.revenue, 0) as decimal(18, 2)) as net_amount,
        coalesce(touchpoints.is_cancelled, false) as is_cancelled,
        coalesce(touchpoints.is_returned, false) as is_returned,
        {%- for name in attributes %}
        touchpoints.{{ name }},
        {%- endfor %}
        touchpoints.updated_at
    from touchpoints
    left join identity_map
        on identity_map.source_system = touchpoints.source_system
        and identity_map.source_record_id = touchpoints.source_record_id
    where {{ c360_in_marts_scope('identity_map.customer_id') }}
)

select * from final
