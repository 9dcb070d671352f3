{#-
    The review queue of the data stewards (`c360 review`, the console's review page): candidate record pairs sampled
    in every band of match probability by the resolution stage (entity_resolution/review.py), with both records side
    by side and the evidence (per comparison: the level that applied and its match weight). The stewards' answers
    live in the state store, not here.
-#}
with

candidates as (
    select * from {{ ref('stg_entity_resolution__review_candidates') }}
),

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

final as (
    select
        candidates.record_key_l,
        candidates.record_key_r,
        candidates.match_probability,
        candidates.match_weight,
        candidates.band_id,
        candidates.band_lower,
        candidates.band_upper,
        candidates.band_pairs,
        candidates.band_pairs_is_estimate,
        candidates.band_sample_rate,
        candidates.stratum_pairs,
        candidates.is_sampled,
        candidates.sample_rank,
        candidates.guard_rail,
        candidates.is_linked,
        candidates.is_same_customer,
        candidates.evidence,
        records_l.source_system as source_system_l,
        records_l.source_record_id as source_record_id_l,
        records_l.full_name_std as full_name_l,
        records_l.email_std as email_l,
        records_l.phone_e164 as phone_e164_l,
        records_l.date_of_birth as date_of_birth_l,
        records_l.street_std as street_l,
        records_l.postcode as postcode_l,
        records_l.city_std as city_l,
        records_r.source_system as source_system_r,
        records_r.source_record_id as source_record_id_r,
        records_r.full_name_std as full_name_r,
        records_r.email_std as email_r,
        records_r.phone_e164 as phone_e164_r,
        records_r.date_of_birth as date_of_birth_r,
        records_r.street_std as street_r,
        records_r.postcode as postcode_r,
        records_r.city_std as city_r,
        candidates.match_probability_threshold as threshold,
        candidates.model_id,
        candidates.run_id
    from candidates
    left join identity_records as records_l on candidates.record_key_l = records_l.record_key
    left join identity_records as records_r on candidates.record_key_r = records_r.record_key
)

select * from final
