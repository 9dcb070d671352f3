with

source_rows as (
    select * from {{ source('entity_resolution', 'review_candidates') }}
),

final as (
    select
        run_id,
        model_id,
        threshold as match_probability_threshold,
        record_key_l,
        record_key_r,
        match_probability,
        match_weight,
        band_id,
        band_lower,
        band_upper,
        band_pairs,
        band_pairs_is_estimate,
        band_sample_rate,
        stratum_pairs,
        is_sampled,
        sample_rank,
        guard_rail,
        is_linked,
        is_same_customer,
        evidence
    from source_rows
)

select * from final
