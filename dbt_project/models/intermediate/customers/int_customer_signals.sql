{#-
    One row per active customer: the measures and flags the agent console shows and the next-best-action rules
    test (every column except customer_id is a `signal` a rule can name). All time windows end at the reference
    time of int_reference_time, never at the wall clock; only facts up to that time count.

    It reads fct_touchpoints, whatever streams the project configured: orders are touchpoints of kind `order`,
    revenue is the `revenue` KPI of any stream, open cases and complaints its `is_open` / `is_complaint`, ratings its
    satisfaction, e-mail engagement its `engagement` (customer360.yml `touchpoints:` ... `kpis:`). It descends from
    the resolution outputs (built in the marts stage) and feeds two marts, next_best_action and customer_360.
    A project without facts gets zeros and nulls, never an error.

    Thresholds (dbt vars): c360_recent_days (90), c360_value_window_days (365), c360_value_drop_ratio (0.5),
    c360_value_drop_min_revenue (100).
-#}
{{ config(**c360_incremental_by_customer()) }}
{%- set recent_days = var('c360_recent_days', 90) -%}
{%- set value_window_days = var('c360_value_window_days', 365) -%}
{%- set value_drop_ratio = var('c360_value_drop_ratio', 0.5) -%}
{%- set value_drop_min_revenue = var('c360_value_drop_min_revenue', 100) -%}
with

customers as (
    select * from {{ ref('dim_customer') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
    where customer_id is not null and {{ c360_in_marts_scope('customer_id') }}
),

orders as (
    select
        customer_id,
        touchpoint_id,
        occurred_at as ordered_at,
        amount as total_amount,
        coalesce(is_cancelled, false) as is_cancelled,
        coalesce(is_returned, false) as is_returned
    from touchpoints
    where kind = 'order'
),

cases as (
    select * from touchpoints
    where kind = 'ticket' or is_open is not null or is_complaint is not null
),

engagements as (
    select * from touchpoints
    where engagement is not null
),

reference_time as (
    select reference_at from {{ ref('int_reference_time') }}
),

order_summary as (
    select
        orders.customer_id,
        count(*) filter (where not orders.is_cancelled) as order_count,
        avg(orders.total_amount) filter (where not orders.is_cancelled) as average_order_value,
        min(orders.ordered_at) filter (where not orders.is_cancelled) as first_ordered_at,
        max(orders.ordered_at) filter (where not orders.is_cancelled) as last_ordered_at,
        count(*) filter (where orders.is_returned) as returned_order_count
    from orders
    cross join reference_time
    where orders.ordered_at <= reference_time.reference_at
    group by orders.customer_id
),

-- revenue of every stream that has it (orders, subscriptions, payments ...)
revenue_summary as (
    select
        touchpoints.customer_id,
        coalesce(sum(touchpoints.revenue), 0) as lifetime_value,
        coalesce(sum(touchpoints.revenue) filter (
            where touchpoints.occurred_at > reference_time.reference_at - to_days({{ value_window_days }})
        ), 0) as revenue_last_window,
        coalesce(sum(touchpoints.revenue) filter (
            where touchpoints.occurred_at <= reference_time.reference_at - to_days({{ value_window_days }})
            and touchpoints.occurred_at > reference_time.reference_at - to_days({{ 2 * value_window_days }})
        ), 0) as revenue_prior_window
    from touchpoints
    cross join reference_time
    where touchpoints.revenue is not null and touchpoints.occurred_at <= reference_time.reference_at
    group by touchpoints.customer_id
),

ticket_summary as (
    select
        cases.customer_id,
        count(*) filter (where cases.kind = 'ticket') as ticket_count,
        count(*) filter (where cases.is_open) as open_ticket_count,
        count(*) filter (where cases.is_complaint) as complaint_count,
        count(*) filter (where cases.is_open and cases.is_complaint) as open_complaint_count,
        min(cases.source_id) filter (where cases.is_open and cases.is_complaint) as open_complaint_ticket_id
    from cases
    cross join reference_time
    where cases.occurred_at <= reference_time.reference_at
    group by cases.customer_id
),

rating_summary as (
    select
        touchpoints.customer_id,
        round(avg(touchpoints.csat_score), 2) as average_csat,
        arg_max(touchpoints.csat_score, {{ "(coalesce(touchpoints.last_activity_at, touchpoints.occurred_at), touchpoints.touchpoint_id)" }})
            as last_csat_score
    from touchpoints
    cross join reference_time
    where touchpoints.csat_score is not null and touchpoints.occurred_at <= reference_time.reference_at
    group by touchpoints.customer_id
),

email_summary as (
    select
        engagements.customer_id,
        count(*) filter (where engagements.engagement = 'sent') as emails_sent_recent,
        count(*) filter (where engagements.engagement = 'open') as email_opens_recent,
        count(*) filter (where engagements.engagement = 'click') as email_clicks_recent
    from engagements
    cross join reference_time
    where
        engagements.occurred_at <= reference_time.reference_at
        and engagements.occurred_at > reference_time.reference_at - to_days({{ recent_days }})
    group by engagements.customer_id
),

-- the last delivery attempt to the golden e-mail address (to any address, where streams do not say) bounced
email_bounces as (
    select
        engagements.customer_id,
        engagements.engagement = 'bounce' as is_email_bouncing
    from engagements
    inner join customers
        on customers.customer_id = engagements.customer_id
        and (engagements.recipient is null or customers.email = engagements.recipient)
    cross join reference_time
    where
        engagements.engagement in ('sent', 'delivered', 'bounce', 'open', 'click')
        and engagements.occurred_at <= reference_time.reference_at
    qualify row_number() over (
        partition by engagements.customer_id
        order by engagements.occurred_at desc, engagements.engagement = 'bounce' desc, engagements.touchpoint_id desc
    ) = 1
),

-- a bad experience: a negative interaction the customer had (not a marketing engagement such as an unsubscribe)
bad_experiences as (
    select touchpoints.*
    from touchpoints
    cross join reference_time
    where
        touchpoints.sentiment = 'negative'
        and touchpoints.engagement is null
        and touchpoints.occurred_at <= reference_time.reference_at
),

touchpoint_summary as (
    select
        touchpoints.customer_id,
        count(*) as touchpoint_count
    from touchpoints
    cross join reference_time
    where touchpoints.occurred_at <= reference_time.reference_at
    group by touchpoints.customer_id
),

-- a contact is any interaction the customer took part in: mass mailings sent, delivered or bounced do not count
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
        touchpoints.direction = 'inbound'
        and touchpoints.occurred_at <= reference_time.reference_at
    qualify row_number() over (
        partition by touchpoints.customer_id
        order by least(touchpoints.last_activity_at, reference_time.reference_at) desc, touchpoints.touchpoint_id desc
    ) = 1
),

last_bad_experiences as (
    select
        bad_experiences.customer_id,
        bad_experiences.occurred_at as last_bad_experience_at,
        bad_experiences.summary as last_bad_experience,
        bad_experiences.occurred_at > reference_time.reference_at - to_days({{ recent_days }})
            as is_recent_bad_experience
    from bad_experiences
    cross join reference_time
    qualify row_number() over (
        partition by bad_experiences.customer_id
        order by bad_experiences.occurred_at desc, bad_experiences.touchpoint_id desc
    ) = 1
),

joined as (
    select
        customers.customer_id,
        reference_time.reference_at,

        coalesce(order_summary.order_count, 0) as order_count,
        cast(coalesce(revenue_summary.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        cast(order_summary.average_order_value as decimal(18, 2)) as average_order_value,
        {{ c360_local_date('order_summary.first_ordered_at') }} as first_order_date,
        {{ c360_local_date('order_summary.last_ordered_at') }} as last_order_date,
        date_diff('day', order_summary.first_ordered_at, reference_time.reference_at) as days_since_first_order,
        date_diff('day', order_summary.last_ordered_at, reference_time.reference_at) as days_since_last_order,
        coalesce(order_summary.returned_order_count, 0) as returned_order_count,
        cast(coalesce(revenue_summary.revenue_last_window, 0) as decimal(18, 2)) as revenue_last_365d,
        cast(coalesce(revenue_summary.revenue_prior_window, 0) as decimal(18, 2)) as revenue_prior_365d,
        -- a prediction about the person: none for someone who objects to profiling (null: rules never fire on it)
        case when not customers.objects_to_profiling then
            coalesce(
                revenue_summary.revenue_prior_window >= {{ value_drop_min_revenue }}
                and revenue_summary.revenue_last_window < {{ value_drop_ratio }} * revenue_summary.revenue_prior_window,
                false
            )
        end as is_value_dropping,

        coalesce(ticket_summary.ticket_count, 0) as ticket_count,
        coalesce(ticket_summary.open_ticket_count, 0) as open_ticket_count,
        coalesce(ticket_summary.complaint_count, 0) as complaint_count,
        coalesce(ticket_summary.open_complaint_count, 0) > 0 as has_open_complaint,
        ticket_summary.open_complaint_ticket_id,
        rating_summary.average_csat,
        rating_summary.last_csat_score,

        coalesce(touchpoint_summary.touchpoint_count, 0) as touchpoint_count,
        coalesce(last_bad_experiences.is_recent_bad_experience, false) as has_recent_bad_experience,
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
    left join revenue_summary on revenue_summary.customer_id = customers.customer_id
    left join ticket_summary on ticket_summary.customer_id = customers.customer_id
    left join rating_summary on rating_summary.customer_id = customers.customer_id
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
