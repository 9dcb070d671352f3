{#-
    The restrictions (Art. 18) and objections (Art. 21) in force, per customer: a request covers the source
    records the customer had when it was made, so it follows the person through later merges and splits. Read by
    int_customer_consent (an objection is an opt-out for its purpose on every channel) and dim_customer
    (is_processing_restricted).
-#}
with

requests as (
    select * from {{ source('privacy', 'privacy_requests') }}
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        identity_map.customer_id,
        requests.request_id,
        requests.kind,
        requests.purpose,
        requests.requested_at,
        identity_map.source_system,
        identity_map.source_record_id
    from requests
    inner join identity_map on identity_map.record_key = requests.record_key
)

select * from final
