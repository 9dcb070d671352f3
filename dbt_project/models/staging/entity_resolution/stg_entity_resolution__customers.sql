with

source_rows as (
    select * from {{ source('entity_resolution', 'customers') }}
),

final as (
    select
        customer_id,
        status as customer_status,
        merged_into as merged_into_customer_id,
        record_count,
        created_run_id,
        changed_run_id
    from source_rows
)

select * from final
