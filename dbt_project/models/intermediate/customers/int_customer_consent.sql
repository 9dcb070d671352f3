{#-
    Per customer and consent purpose, the statement that counts: the latest act over all of the customer's records
    and channels (an opt-out wins a tie). A customer without any statement for a purpose has no row for it (status
    `none` in dim_customer). next_best_action reads it for rules that require consent.
-#}
with

consent_events as (
    select * from {{ ref('int_consent_events') }}
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        identity_map.customer_id,
        consent_events.purpose,
        consent_events.consent_channel,
        consent_events.consent_status,
        consent_events.changed_at,
        consent_events.legal_basis,
        consent_events.evidence_source
    from consent_events
    inner join identity_map
        on identity_map.source_system = consent_events.source_system
        and identity_map.source_record_id = consent_events.source_record_id
    qualify row_number() over (
        partition by identity_map.customer_id, consent_events.purpose
        order by
            consent_events.changed_at desc nulls last,
            case consent_events.consent_status when 'opted_out' then 0 else 1 end,
            consent_events.consent_event_id desc
    ) = 1
)

select * from final
