with

source_rows as (
    select * from {{ source('entity_resolution', 'match_evidence') }}
),

final as (
    select
        customer_id,
        record_key_l,
        record_key_r,
        match_probability,
        pair_match_weight,
        comparison,
        level_label,
        is_agreement,
        match_weight
    from source_rows
)

select * from final
