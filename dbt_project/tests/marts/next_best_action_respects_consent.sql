{#-
    No next best action that consent does not allow (docs/privacy.md#the-contact-policy), stated without the
    model's ranking: a statement governs an action when it is about the action's purpose, any purpose or (for a
    promotional action) marketing, and about its channel or any channel (channel `none`: contacts nobody). Fails for an action with a governing opt-out that no later governing opt-in withdrew, and for an
    action that requires consent without a governing opt-in that no opt-out at the same time or later withdrew.
-#}
with

actions as (
    select
        next_best_action.customer_id,
        next_best_action.action_code,
        rules.purpose,
        rules.channel,
        rules.is_promotional,
        rules.requires_consent
    from {{ ref('next_best_action') }} as next_best_action
    inner join {{ ref('int_next_best_action_rules') }} as rules on rules.rule_id = next_best_action.rule_id
),

governing as (
    select
        actions.customer_id,
        actions.action_code,
        consent.consent_status,
        -- an undated statement is older than any dated one (the model ranks it last)
        coalesce(consent.changed_at, '-infinity'::timestamptz) as changed_at
    from actions
    inner join {{ ref('customer_consent') }} as consent
        on consent.customer_id = actions.customer_id
        and (consent.purpose in (actions.purpose, 'any') or (actions.is_promotional and consent.purpose = 'marketing'))
        and actions.channel != 'none'
        and consent.consent_channel in (actions.channel, 'any')
),

standing_opt_outs as (
    select opt_out.customer_id, opt_out.action_code, 'opted out' as violation
    from governing as opt_out
    where opt_out.consent_status = 'opted_out'
        and not exists (
            select 1 from governing as opt_in
            where opt_in.customer_id = opt_out.customer_id and opt_in.action_code = opt_out.action_code
                and opt_in.consent_status = 'opted_in' and opt_in.changed_at > opt_out.changed_at
        )
),

missing_opt_ins as (
    select actions.customer_id, actions.action_code, 'requires consent' as violation
    from actions
    where actions.requires_consent is not null
        and not exists (
            select 1 from governing as opt_in
            where opt_in.customer_id = actions.customer_id and opt_in.action_code = actions.action_code
                and opt_in.consent_status = 'opted_in'
                and not exists (
                    select 1 from governing as opt_out
                    where opt_out.customer_id = opt_in.customer_id and opt_out.action_code = opt_in.action_code
                        and opt_out.consent_status = 'opted_out' and opt_out.changed_at >= opt_in.changed_at
                )
        )
)

select * from standing_opt_outs
union all
select * from missing_opt_ins
