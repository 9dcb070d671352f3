{#- Every customer ID ever issued: active ones, and merged or retired ones with where they went. -#}
{{ config(**c360_incremental_by_customer()) }}
with

customers as (
    select * from {{ ref('stg_entity_resolution__customers') }}
),

final as (
    select
        customer_id,
        customer_status as status,
        merged_into_customer_id as merged_into,
        record_count,
        created_run_id,
        changed_run_id
    from customers
    where {{ c360_in_marts_scope('customer_id') }}
)

select * from final
