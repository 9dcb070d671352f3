{#-
    Every interaction from every silo on one timeline, before customers are known: one row per order, ticket,
    campaign event and newsletter opt-in/opt-out, keyed by the person record it belongs to
    (source_system, source_record_id). fct_touchpoints adds the customer_id.

    Ticket comments are not rows of their own: a ticket is one conversation; its latest public comment moves
    `last_activity_at`. A newsletter opt-out recorded on the contact is skipped when an unsubscribe event records
    the same act (within a day), so one opt-out is one touchpoint.
-#}
with

orders as (
    select * from {{ ref('stg_sales__orders') }}
),

tickets as (
    select * from {{ ref('stg_service__tickets') }}
),

ticket_comments as (
    select * from {{ ref('stg_service__ticket_comments') }}
),

campaign_events as (
    select * from {{ ref('stg_marketing__campaign_events') }}
),

contacts as (
    select * from {{ ref('stg_marketing__contacts') }}
),

ticket_activity as (
    select
        ticket_id,
        max(created_at) filter (where is_public) as last_public_comment_at,
        max(loaded_at) as last_comment_loaded_at
    from ticket_comments
    group by ticket_id
),

order_touchpoints as (
    select
        'sales:order:' || order_id as touchpoint_id,
        'sales' as source_system,
        sales_customer_id as source_record_id,
        'orders' as source_table,
        order_id as source_id,
        ordered_at as occurred_at,
        ordered_at as last_activity_at,
        coalesce(channel, 'unknown') as channel,
        'order' as touchpoint_type,
        'sales' as department,
        'inbound' as direction,
        concat_ws(' ', 'Order', order_number, '·', cast(total_amount as varchar), currency, '·', status) as summary,
        case status
            when 'completed' then 'positive'
            when 'partially_returned' then 'neutral'
            when 'returned' then 'negative'
            when 'cancelled' then 'negative'
        end as sentiment,
        status as outcome,
        cast(null as bigint) as csat_score,
        total_amount as amount,
        loaded_at
    from orders
),

ticket_touchpoints as (
    select
        'service:ticket:' || tickets.ticket_id as touchpoint_id,
        'service' as source_system,
        tickets.requester_id as source_record_id,
        'tickets' as source_table,
        tickets.ticket_id as source_id,
        tickets.created_at as occurred_at,
        greatest(tickets.created_at, ticket_activity.last_public_comment_at) as last_activity_at,
        coalesce(tickets.channel, 'unknown') as channel,
        'ticket_' || coalesce(tickets.ticket_type, 'other') as touchpoint_type,
        'service' as department,
        'inbound' as direction,
        coalesce(tickets.subject, 'Ticket ' || tickets.ticket_id) as summary,
        case
            when tickets.csat_score >= 4 then 'positive'
            when tickets.csat_score = 3 then 'neutral'
            when tickets.csat_score <= 2 then 'negative'
            when tickets.is_complaint then 'negative'
        end as sentiment,
        case when tickets.is_open then 'open' else 'resolved' end as outcome,
        tickets.csat_score,
        cast(null as decimal(18, 2)) as amount,
        greatest(tickets.loaded_at, ticket_activity.last_comment_loaded_at) as loaded_at
    from tickets
    left join ticket_activity on ticket_activity.ticket_id = tickets.ticket_id
),

event_touchpoints as (
    select
        'marketing:event:' || event_id as touchpoint_id,
        'marketing' as source_system,
        contact_id as source_record_id,
        'campaign_events' as source_table,
        event_id as source_id,
        occurred_at,
        occurred_at as last_activity_at,
        coalesce(channel, 'email') as channel,
        coalesce(channel, 'email') || '_' || coalesce(event_type, 'other') as touchpoint_type,
        'marketing' as department,
        case when event_type in ('sent', 'bounce') then 'outbound' else 'inbound' end as direction,
        coalesce(campaign_name, campaign_id) as summary,
        case event_type
            when 'click' then 'positive'
            when 'unsubscribe' then 'negative'
        end as sentiment,
        event_type as outcome,
        cast(null as bigint) as csat_score,
        cast(null as decimal(18, 2)) as amount,
        loaded_at
    from campaign_events
),

opt_in_touchpoints as (
    select
        'marketing:newsletter_opt_in:' || contact_id as touchpoint_id,
        'marketing' as source_system,
        contact_id as source_record_id,
        'contacts' as source_table,
        contact_id as source_id,
        newsletter_subscribed_at as occurred_at,
        newsletter_subscribed_at as last_activity_at,
        'email' as channel,
        'newsletter_opt_in' as touchpoint_type,
        'marketing' as department,
        'inbound' as direction,
        'Newsletter opt-in' as summary,
        'positive' as sentiment,
        'opted_in' as outcome,
        cast(null as bigint) as csat_score,
        cast(null as decimal(18, 2)) as amount,
        loaded_at
    from contacts
    where newsletter_subscribed_at is not null
),

opt_out_touchpoints as (
    select
        'marketing:newsletter_opt_out:' || contacts.contact_id as touchpoint_id,
        'marketing' as source_system,
        contacts.contact_id as source_record_id,
        'contacts' as source_table,
        contacts.contact_id as source_id,
        contacts.newsletter_unsubscribed_at as occurred_at,
        contacts.newsletter_unsubscribed_at as last_activity_at,
        'email' as channel,
        'newsletter_opt_out' as touchpoint_type,
        'marketing' as department,
        'inbound' as direction,
        'Newsletter opt-out' as summary,
        'negative' as sentiment,
        'opted_out' as outcome,
        cast(null as bigint) as csat_score,
        cast(null as decimal(18, 2)) as amount,
        contacts.loaded_at
    from contacts
    where
        contacts.newsletter_unsubscribed_at is not null
        and not exists (
            select 1
            from campaign_events
            where
                campaign_events.contact_id = contacts.contact_id
                and campaign_events.event_type = 'unsubscribe'
                and campaign_events.occurred_at
                between contacts.newsletter_unsubscribed_at - interval 1 day
                and contacts.newsletter_unsubscribed_at + interval 1 day
        )
),

unioned as (
    select * from order_touchpoints
    union all
    select * from ticket_touchpoints
    union all
    select * from event_touchpoints
    union all
    select * from opt_in_touchpoints
    union all
    select * from opt_out_touchpoints
),

final as (
    select * from unioned
)

select * from final
