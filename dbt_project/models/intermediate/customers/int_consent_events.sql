{#-
    Every consent act we know of, per person record and consent channel: newsletter opt-ins and opt-outs recorded
    on the contact (`Angemeldet am`, `Abgemeldet am`), unsubscribe events from campaigns, and — only where the
    contact carries no date for its current state — the contact's `Newsletter` flag at its last change.
    dim_customer lets the latest act over all of a customer's records win.
-#}
with

contacts as (
    select * from {{ ref('stg_marketing__contacts') }}
),

campaign_events as (
    select * from {{ ref('stg_marketing__campaign_events') }}
),

contact_opt_ins as (
    select
        'marketing:' || contact_id || ':opt_in' as consent_event_id,
        'marketing' as source_system,
        contact_id as source_record_id,
        'email_newsletter' as consent_channel,
        'opted_in' as consent_status,
        newsletter_subscribed_at as changed_at,
        'marketing.contacts' as evidence_source
    from contacts
    where newsletter_subscribed_at is not null
),

contact_opt_outs as (
    select
        'marketing:' || contact_id || ':opt_out' as consent_event_id,
        'marketing' as source_system,
        contact_id as source_record_id,
        'email_newsletter' as consent_channel,
        'opted_out' as consent_status,
        newsletter_unsubscribed_at as changed_at,
        'marketing.contacts' as evidence_source
    from contacts
    where newsletter_unsubscribed_at is not null
),

-- the flag says "ja" without an opt-in date, or "nein" after an opt-in without an opt-out date
contact_flags as (
    select
        'marketing:' || contact_id || ':flag' as consent_event_id,
        'marketing' as source_system,
        contact_id as source_record_id,
        'email_newsletter' as consent_channel,
        case when is_newsletter_subscribed then 'opted_in' else 'opted_out' end as consent_status,
        updated_at as changed_at,
        'marketing.contacts' as evidence_source
    from contacts
    where
        (is_newsletter_subscribed and newsletter_subscribed_at is null)
        or (
            not is_newsletter_subscribed
            and newsletter_subscribed_at is not null
            and newsletter_unsubscribed_at is null
        )
),

unsubscribe_events as (
    select
        'marketing:event:' || event_id as consent_event_id,
        'marketing' as source_system,
        contact_id as source_record_id,
        'email_newsletter' as consent_channel,
        'opted_out' as consent_status,
        occurred_at as changed_at,
        'marketing.campaign_events' as evidence_source
    from campaign_events
    where event_type = 'unsubscribe' and contact_id is not null
),

unioned as (
    select * from contact_opt_ins
    union all
    select * from contact_opt_outs
    union all
    select * from contact_flags
    union all
    select * from unsubscribe_events
),

final as (
    select * from unioned
)

select * from final
