{#-
    Every consent act we know of, per person record, purpose and channel: the latest version of each configured
    consent statement (an opt-in time, an opt-out time, a flag, an unsubscribe event), keyed by the identity record
    it belongs to. int_customer_consent lets the latest act over all of a customer's records win.
-#}
with

statements as (
    select * from {{ ref('stg_consent__statements') }}
),

lookups as (
    {{ c360_record_lookups(var('c360_consent_statements'), 'statement') }}
),

latest as (
    select *
    from statements
    where statement_key is not null
    qualify row_number() over (
        partition by source_name, statement, statement_key
        order by coalesce(updated_at, stated_at) desc nulls last, loaded_at desc nulls last,
            batch_id desc nulls last, batch_row_number desc nulls last
    ) = 1
),

final as (
    select
        latest.source_name || ':' || latest.statement || ':' || latest.statement_key as consent_event_id,
        latest.source_system,
        case
            when latest.is_record_looked_up then lookups.source_record_id
            else latest.record_value
        end as source_record_id,
        latest.purpose,
        latest.consent_channel,
        latest.consent_status,
        latest.stated_at as changed_at,
        latest.legal_basis,
        latest.evidence_source
    from latest
    left join lookups
        on latest.is_record_looked_up
        and lookups.source_name = latest.source_name
        and lookups.item_name = latest.statement
        and lookups.lookup_value = latest.record_value
)

select * from final
