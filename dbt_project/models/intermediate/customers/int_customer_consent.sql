{#-
    Per customer, purpose and channel, the statement that counts: the latest act over all of the customer's records
    (an opt-out wins a tie). A purpose or channel `any` stands for all of them (a "do not call" note is purpose
    `any`, channel `phone`); rules and marts that ask about one purpose and channel weigh those rows too
    (next_best_action). Records that still say something else (each record's own latest act disagrees with the
    winner) are listed, so that a conflict between silos is visible instead of silently overruled. Objections
    recorded in customer360 (`c360 privacy object`) are statements too. A customer without any statement for a
    purpose has no row for it (status `none` in dim_customer).
-#}
{{ config(**c360_incremental_by_customer()) }}
with

consent_events as (
    select * from {{ ref('int_consent_events') }}
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

-- an objection recorded with `c360 privacy object` (Art. 21) is an opt-out for its purpose on every channel
objections as (
    select * from {{ ref('int_customer_privacy_requests') }}
    where kind = 'objection' and {{ c360_in_marts_scope('customer_id') }}
),

customer_events as (
    select
        identity_map.customer_id,
        consent_events.consent_event_id,
        consent_events.source_system,
        consent_events.source_record_id,
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
    union all
    select
        customer_id,
        'privacy:' || request_id as consent_event_id,
        source_system,
        source_record_id,
        purpose,
        'any' as consent_channel,
        'opted_out' as consent_status,
        requested_at as changed_at,
        'objection (Art. 21 GDPR)' as legal_basis,
        'customer360.privacy_requests' as evidence_source
    from objections
),

-- what each record says now, per purpose and channel
record_statements as (
    select *
    from customer_events
    qualify row_number() over (
        partition by customer_id, source_system, source_record_id, purpose, consent_channel
        {{ c360_consent_precedence() }}
    ) = 1
),

winners as (
    select *
    from record_statements
    qualify row_number() over (
        partition by customer_id, purpose, consent_channel
        {{ c360_consent_precedence() }}
    ) = 1
),

overruled as (
    select
        record_statements.customer_id,
        record_statements.purpose,
        record_statements.consent_channel,
        list(
            record_statements.consent_status || ' in ' || record_statements.source_system || ':'
            || record_statements.source_record_id || ' (' || record_statements.evidence_source || ', '
            || coalesce(strftime(record_statements.changed_at, '%Y-%m-%d'), 'undated') || ')'
            order by record_statements.changed_at desc nulls last, record_statements.consent_event_id
        ) as conflicting_statements
    from record_statements
    inner join winners
        on winners.customer_id = record_statements.customer_id
        and winners.purpose = record_statements.purpose
        and winners.consent_channel = record_statements.consent_channel
    where record_statements.consent_status != winners.consent_status
    group by all
),

final as (
    select
        winners.customer_id,
        winners.purpose,
        winners.consent_channel,
        winners.consent_status,
        winners.changed_at,
        winners.legal_basis,
        winners.evidence_source,
        winners.source_system,
        winners.source_record_id,
        winners.consent_event_id,
        overruled.conflicting_statements is not null as has_conflict,
        coalesce(overruled.conflicting_statements, cast([] as varchar[])) as conflicting_statements
    from winners
    left join overruled
        on overruled.customer_id = winners.customer_id
        and overruled.purpose = winners.purpose
        and overruled.consent_channel = winners.consent_channel
)

select * from final
