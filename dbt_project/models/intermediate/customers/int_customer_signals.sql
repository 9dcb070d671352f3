{#-
    One row per active customer: the measures and flags the agent console shows and the next-best-action rules
    test (every column except customer_id is a `signal` a rule can name). All time windows end at the reference
    time of int_reference_time, never at the wall clock; only facts up to that time count.

    It reads the fact marts (so it descends from the resolution outputs and is built in the marts stage) and
    feeds two marts, next_best_action and customer_360.

    Thresholds (dbt vars): c360_recent_days (90), c360_value_window_days (365), c360_value_drop_ratio (0.5),
    c360_value_drop_min_revenue (100).
-#}
{%- set recent_days = var('c360_recent_days', 90) -%}
{%- set value_window_days = var('c360_value_window_days', 365) -%}
{%- set value_drop_ratio = var('c360_value_drop_ratio', 0.5) -%}
{%- set value_drop_min_revenue = var('c360_value_drop_min_revenue', 100) -%}
with

customers as (
    select * from {{ ref('dim_customer') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

tickets as (
    select * from {{ ref('fct_tickets') }}
),

marketing_events as (
    select * from {{ ref('fct_marketing_events') }}
),

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
),

reference_time as (
    select reference_at from {{ ref('int_reference_time') }}
),

order_summary as (
    select
        orders.customer_id,
        count(*) filter (where not orders.is_cancelled) as order_count,
        coalesce(sum(orders.net_amount), 0) as lifetime_value,
        avg(orders.total_amount) filter (where not orders.is_cancelled) as average_order_value,
        min(orders.ordered_at) filter (where not orders.is_cancelled) as first_ordered_at,
        max(orders.ordered_at) filter (where not orders.is_cancelled) as last_ordered_at,
        count(*) filter (where orders.is_returned) as returned_order_count,
        coalesce(sum(orders.net_amount) filter (
            where orders.ordered_at > reference_time.reference_at - to_days({{ value_window_days }})
        ), 0) as revenue_last_window,
        coalesce(sum(orders.net_amount) filter (
            where orders.ordered_at <= reference_time.reference_at - to_days({{ value_window_days }})
            and orders.ordered_at > reference_time.reference_at - to_days({{ 2 * value_window_days }})
        ), 0) as revenue_prior_window
    from orders
    cross join reference_time
    where orders.customer_id is not null and orders.ordered_at <= reference_time.reference_at
    group by orders.customer_id
),

ticket_summary as (
    select
        tickets.customer_id,
        count(*) as ticket_count,
        count(*) filter (where tickets.is_open) as open_ticket_count,
        count(*) filter (where tickets.is_complaint) as complaint_count,
        count(*) filter (where tickets.is_open and tickets.is_complaint) as open_complaint_count,
        min(tickets.ticket_id) filter (where tickets.is_open and tickets.is_complaint) as open_complaint_ticket_id,
        round(avg(tickets.csat_score), 2) as average_csat
    from tickets
    cross join reference_time
    where tickets.customer_id is not null and tickets.created_at <= reference_time.reference_at
    group by tickets.customer_id
),

last_ratings as (
    select
        tickets.customer_id,
        tickets.csat_score as last_csat_score
    from tickets
    cross join reference_time
    where
        tickets.customer_id is not null
        and tickets.csat_score is not null
        and tickets.created_at <= reference_time.reference_at
    qualify row_number() over (
        partition by tickets.customer_id
        order by coalesce(tickets.solved_at, tickets.updated_at) desc, tickets.ticket_id desc
    ) = 1
),

email_summary as (
    select
        marketing_events.customer_id,
        count(*) filter (where marketing_events.event_type = 'sent') as emails_sent_recent,
        count(*) filter (where marketing_events.event_type = 'open') as email_opens_recent,
        count(*) filter (where marketing_events.event_type = 'click') as email_clicks_recent
    from marketing_events
    cross join reference_time
    where
        marketing_events.customer_id is not null
        and marketing_events.occurred_at <= reference_time.reference_at
        and marketing_events.occurred_at > reference_time.reference_at - to_days({{ recent_days }})
    group by marketing_events.customer_id
),

-- the last delivery attempt to the golden e-mail address bounced
email_bounces as (
    select
        marketing_events.customer_id,
        marketing_events.event_type = 'bounce' as is_email_bouncing
    from marketing_events
    inner join customers
        on customers.customer_id = marketing_events.customer_id
        and customers.email = marketing_events.email
    cross join reference_time
    where
        marketing_events.event_type in ('sent', 'bounce', 'open', 'click')
        and marketing_events.occurred_at <= reference_time.reference_at
    qualify row_number() over (
        partition by marketing_events.customer_id
        order by marketing_events.occurred_at desc, marketing_events.event_type = 'bounce' desc, marketing_events.event_id desc
    ) = 1
),

touchpoint_summary as (
    select
        touchpoints.customer_id,
        count(*) as touchpoint_count,
        count(*) filter (
            where touchpoints.sentiment = 'negative'
            and touchpoints.department in ('sales', 'service')
            and touchpoints.occurred_at > reference_time.reference_at - to_days({{ recent_days }})
        ) as recent_bad_experience_count
    from touchpoints
    cross join reference_time
    where touchpoints.customer_id is not null and touchpoints.occurred_at <= reference_time.reference_at
    group by touchpoints.customer_id
),

-- a contact is any interaction the customer took part in: mass mailings sent or bounced do not count
last_contacts as (
    select
        touchpoints.customer_id,
        least(touchpoints.last_activity_at, reference_time.reference_at) as last_contact_at,
        touchpoints.channel as last_contact_channel,
        touchpoints.touchpoint_type as last_contact_type,
        touchpoints.department as last_contact_department
    from touchpoints
    cross join reference_time
    where
        touchpoints.customer_id is not null
        and touchpoints.touchpoint_type not in ('email_sent', 'email_bounce')
        and touchpoints.occurred_at <= reference_time.reference_at
    qualify row_number() over (
        partition by touchpoints.customer_id
        order by least(touchpoints.last_activity_at, reference_time.reference_at) desc, touchpoints.touchpoint_id desc
    ) = 1
),

last_bad_experiences as (
    select
        touchpoints.customer_id,
        touchpoints.occurred_at as last_bad_experience_at,
        touchpoints.summary as last_bad_experience
    from touchpoints
    cross join reference_time
    where
        touchpoints.customer_id is not null
        and touchpoints.sentiment = 'negative'
        and touchpoints.department in ('sales', 'service')
        and touchpoints.occurred_at <= reference_time.reference_at
    qualify row_number() over (
        partition by touchpoints.customer_id
        order by touchpoints.occurred_at desc, touchpoints.touchpoint_id desc
    ) = 1
),

joined as (
    select
        customers.customer_id,
        reference_time.reference_at,

        coalesce(order_summary.order_count, 0) as order_count,
        cast(coalesce(order_summary.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        cast(order_summary.average_order_value as decimal(18, 2)) as average_order_value,
        cast(timezone('Europe/Berlin', order_summary.first_ordered_at) as date) as first_order_date,
        cast(timezone('Europe/Berlin', order_summary.last_ordered_at) as date) as last_order_date,
        date_diff('day', order_summary.first_ordered_at, reference_time.reference_at) as days_since_first_order,
        date_diff('day', order_summary.last_ordered_at, reference_time.reference_at) as days_since_last_order,
        coalesce(order_summary.returned_order_count, 0) as returned_order_count,
        cast(coalesce(order_summary.revenue_last_window, 0) as decimal(18, 2)) as revenue_last_365d,
        cast(coalesce(order_summary.revenue_prior_window, 0) as decimal(18, 2)) as revenue_prior_365d,
        coalesce(
            order_summary.revenue_prior_window >= {{ value_drop_min_revenue }}
            and order_summary.revenue_last_window < {{ value_drop_ratio }} * order_summary.revenue_prior_window,
            false
        ) as is_value_dropping,

        coalesce(ticket_summary.ticket_count, 0) as ticket_count,
        coalesce(ticket_summary.open_ticket_count, 0) as open_ticket_count,
        coalesce(ticket_summary.complaint_count, 0) as complaint_count,
        coalesce(ticket_summary.open_complaint_count, 0) > 0 as has_open_complaint,
        ticket_summary.open_complaint_ticket_id,
        ticket_summary.average_csat,
        last_ratings.last_csat_score,

        coalesce(touchpoint_summary.touchpoint_count, 0) as touchpoint_count,
        coalesce(touchpoint_summary.recent_bad_experience_count, 0) > 0 as has_recent_bad_experience,
        last_bad_experiences.last_bad_experience_at,
        last_bad_experiences.last_bad_experience,
        last_contacts.last_contact_at,
        last_contacts.last_contact_channel,
        last_contacts.last_contact_type,
        last_contacts.last_contact_department,
        date_diff('day', last_contacts.last_contact_at, reference_time.reference_at) as days_since_last_contact,

        coalesce(email_summary.emails_sent_recent, 0) as emails_sent_90d,
        coalesce(email_summary.email_opens_recent, 0) as email_opens_90d,
        coalesce(email_summary.email_clicks_recent, 0) as email_clicks_90d,
        coalesce(email_summary.email_opens_recent, 0) + coalesce(email_summary.email_clicks_recent, 0) > 0
            as is_email_engaged_90d,

        customers.email is not null as has_email,
        coalesce(email_bounces.is_email_bouncing, false) as is_email_bouncing,
        customers.email is not null and not coalesce(email_bounces.is_email_bouncing, false) as has_usable_email,
        customers.phone_e164 is not null as has_phone,
        customers.street is not null and customers.postcode is not null as has_postal_address,
        customers.is_newsletter_subscribed,
        customers.newsletter_consent_status,
        customers.source_record_count
    from customers
    cross join reference_time
    left join order_summary on order_summary.customer_id = customers.customer_id
    left join ticket_summary on ticket_summary.customer_id = customers.customer_id
    left join last_ratings on last_ratings.customer_id = customers.customer_id
    left join email_summary on email_summary.customer_id = customers.customer_id
    left join email_bounces on email_bounces.customer_id = customers.customer_id
    left join touchpoint_summary on touchpoint_summary.customer_id = customers.customer_id
    left join last_contacts on last_contacts.customer_id = customers.customer_id
    left join last_bad_experiences on last_bad_experiences.customer_id = customers.customer_id
),

final as (
    select
        *,
        -- contact policy across departments: no promotions while a complaint is open or after a bad experience
        not has_open_complaint and not has_recent_bad_experience as is_promotion_allowed
    from joined
)

select * from final
