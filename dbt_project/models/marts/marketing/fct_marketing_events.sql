{#- One row per campaign event, with the customer of the contact it was sent to. -#}
with

campaign_events as (
    select * from {{ ref('stg_marketing__campaign_events') }}
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

final as (
    select
        campaign_events.event_id,
        identity_map.customer_id,
        'marketing' as source_system,
        campaign_events.contact_id as source_record_id,
        campaign_events.campaign_id,
        campaign_events.campaign_name,
        campaign_events.channel,
        campaign_events.event_type,
        campaign_events.occurred_at,
        campaign_events.email,
        campaign_events.url
    from campaign_events
    left join identity_map
        on identity_map.source_system = 'marketing'
        and identity_map.source_record_id = campaign_events.contact_id
)

select * from final
