{#-
    One row per active customer with what an agent needs at a glance: golden contact data and consent, value,
    service history, engagement, risk flags and the next best action. Time windows end at `reference_at`
    (see int_reference_time), not at the wall clock.
-#}
{{ config(**c360_incremental_by_customer()) }}
with

customers as (
    select * from {{ ref('dim_customer') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

signals as (
    select * from {{ ref('int_customer_signals') }}
),

next_best_actions as (
    select * from {{ ref('next_best_action') }}
),

final as (
    select
        customers.customer_id,
        customers.full_name,
        customers.first_name,
        customers.last_name,
        customers.email,
        customers.phone_e164,
        customers.date_of_birth,
        customers.street,
        customers.postcode,
        customers.city,
        customers.country_code,
        customers.source_record_count,
        customers.source_systems,
        customers.first_seen_at,

        customers.is_newsletter_subscribed,
        customers.newsletter_consent_status,
        customers.newsletter_consent_changed_at,
        customers.is_processing_restricted,
        customers.objects_to_profiling,

        signals.lifetime_value,
        signals.order_count,
        signals.first_order_date,
        signals.last_order_date,
        signals.days_since_last_order,
        signals.average_order_value,
        signals.returned_order_count,
        signals.revenue_last_365d,
        signals.revenue_prior_365d,

        signals.ticket_count,
        signals.open_ticket_count,
        signals.complaint_count,
        signals.open_complaint_ticket_id,
        signals.average_csat,
        signals.last_csat_score,

        signals.touchpoint_count,
        signals.last_contact_at,
        signals.last_contact_channel,
        signals.last_contact_type,
        signals.last_contact_department,
        signals.days_since_last_contact,

        signals.emails_sent_90d,
        signals.email_opens_90d,
        signals.email_clicks_90d,
        signals.is_email_engaged_90d,
        signals.is_email_bouncing,

        signals.has_open_complaint,
        signals.is_value_dropping,
        signals.has_recent_bad_experience,
        signals.last_bad_experience_at,
        signals.last_bad_experience,
        signals.is_promotion_allowed,

        next_best_actions.action as next_best_action,
        next_best_actions.reason as next_best_action_reason,
        next_best_actions.action_code as next_best_action_code,
        next_best_actions.rule_id as next_best_action_rule_id,
        next_best_actions.department as next_best_action_department,
        next_best_actions.channel as next_best_action_channel,
        next_best_actions.evidence as next_best_action_evidence,

        signals.reference_at
    from customers
    left join signals on signals.customer_id = customers.customer_id
    left join next_best_actions on next_best_actions.customer_id = customers.customer_id
)

select * from final
