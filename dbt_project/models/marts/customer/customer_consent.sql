{#-
    What each active customer allows, per purpose and channel (docs/privacy.md): the statement that counts (the
    latest act over all the customer's records; an opt-out wins a tie), where it came from (source table and
    record, legal basis, when), and the records that still say otherwise (`conflicting_statements`). Purpose or
    channel `any`: the statement covers all of them. No row for a purpose and channel: the customer never said.
-#}
{{ config(**c360_incremental_by_customer()) }}
with

customer_consent as (
    select * from {{ ref('int_customer_consent') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

active_customers as (
    select customer_id
    from {{ ref('stg_entity_resolution__customers') }}
    where customer_status = 'active'
),

final as (
    select
        customer_consent.customer_id,
        customer_consent.purpose,
        customer_consent.consent_channel,
        customer_consent.consent_status,
        customer_consent.changed_at,
        customer_consent.legal_basis,
        customer_consent.evidence_source,
        customer_consent.source_system,
        customer_consent.source_record_id,
        customer_consent.has_conflict,
        customer_consent.conflicting_statements
    from customer_consent
    inner join active_customers on active_customers.customer_id = customer_consent.customer_id
)

select * from final
