with

source_rows as (
    select * from {{ source('entity_resolution', 'identity_map') }}
),

final as (
    select
        record_key,
        source_system,
        source_record_id,
        customer_id,
        best_match_probability,
        cluster_size,
        assigned_run_id
    from source_rows
)

select * from final
