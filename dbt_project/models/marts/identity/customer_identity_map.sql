{#- One row per source record: which customer it belongs to, and the evidence (best link probability). -#}
{{ config(**c360_incremental_by_customer()) }}
with

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

final as (
    select
        identity_map.source_system,
        identity_map.source_record_id,
        identity_map.customer_id,
        identity_map.record_key,
        identity_map.best_match_probability,
        identity_map.cluster_size,
        identity_map.assigned_run_id,
        identity_records.full_name_std as full_name,
        identity_records.first_name_std as first_name,
        identity_records.last_name_std as last_name,
        identity_records.email_std as email,
        identity_records.phone_e164,
        identity_records.date_of_birth,
        identity_records.street_std as street,
        identity_records.postcode,
        identity_records.city_std as city,
        identity_records.country_code,
        identity_records.updated_at as record_updated_at
    from identity_map
    left join identity_records using (record_key)
)

select * from final
