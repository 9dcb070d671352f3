{#-
    The single most useful next action per customer, chosen by the playbook (int_next_best_action_rules: what, why,
    who, how, priority; int_next_best_action_conditions: when) — the project's `rules.next_best_action` file, else
    the product's default playbook.

    Every column of int_customer_signals (except customer_id, reference_at) is a signal a condition can name.
    A rule holds for a customer when all its conditions hold; the contact policy then removes promotional rules
    while promotions are not allowed (open complaint, recent bad experience) or processing is restricted (Art. 18),
    and every rule that consent does not allow: the latest of the customer's statements that govern it is an
    opt-out, or the rule requires consent and that statement is not an opt-in. A statement governs a rule when it is about the rule's purpose, any purpose or
    (for a promotional rule) marketing, and about the rule's channel or any channel; so a rule for the next contact
    (channel `any`) heeds only statements about every channel, and one that contacts nobody (channel `none`, the
    default rule) none. The eligible rule with the lowest priority wins; the default rule (no conditions) makes
    sure everyone gets exactly one action.
-#}
{{ config(**c360_incremental_by_customer()) }}
{%- set null_placeholder = '<<null>>' -%}
with

signals as (
    select * from {{ ref('int_customer_signals') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

rules as (
    select * from {{ ref('int_next_best_action_rules') }}
),

conditions as (
    select * from {{ ref('int_next_best_action_conditions') }}
),

customer_consent as (
    select * from {{ ref('int_customer_consent') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

restricted_customers as (
    select customer_id from {{ ref('dim_customer') }}
    where is_processing_restricted and {{ c360_in_marts_scope('customer_id') }}
),

-- one row per customer and signal, the value as text (booleans become 'true' / 'false'); every column of
-- int_customer_signals is a signal, so a new column there is usable in rules at once. DuckDB's UNPIVOT drops
-- NULLs, hence the placeholder.
signals_as_text as (
    select
        customer_id,
        coalesce(cast(columns(* exclude (customer_id, reference_at)) as varchar), '{{ null_placeholder }}')
    from signals
),

signal_values as (
    select
        customer_id,
        signal,
        nullif(signal_value, '{{ null_placeholder }}') as signal_value
    from (
        unpivot signals_as_text
        on columns(* exclude (customer_id))
        into name signal value signal_value
    )
),

condition_results as (
    select
        signal_values.customer_id,
        conditions.rule_id,
        conditions.signal,
        signal_values.signal_value,
        coalesce(
            case conditions.operator
                when 'is_true' then lower(signal_values.signal_value) = 'true'
                when 'is_false' then lower(signal_values.signal_value) = 'false'
                when 'is_null' then signal_values.signal_value is null
                when 'is_not_null' then signal_values.signal_value is not null
                when '=' then coalesce(
                    try_cast(signal_values.signal_value as double) = try_cast(conditions.value as double),
                    signal_values.signal_value = conditions.value
                )
                when '!=' then coalesce(
                    try_cast(signal_values.signal_value as double) != try_cast(conditions.value as double),
                    signal_values.signal_value != conditions.value
                )
                when '>' then try_cast(signal_values.signal_value as double) > try_cast(conditions.value as double)
                when '>=' then try_cast(signal_values.signal_value as double) >= try_cast(conditions.value as double)
                when '<' then try_cast(signal_values.signal_value as double) < try_cast(conditions.value as double)
                when '<=' then try_cast(signal_values.signal_value as double) <= try_cast(conditions.value as double)
            end,
            false
        ) as is_met
    from conditions
    inner join signal_values on signal_values.signal = conditions.signal
),

rule_condition_counts as (
    select
        rules.rule_id,
        count(conditions.rule_id) as condition_count
    from rules
    left join conditions on conditions.rule_id = rules.rule_id
    group by rules.rule_id
),

conditions_met as (
    select
        customer_id,
        rule_id,
        count(*) filter (where is_met) as met_count
    from condition_results
    group by customer_id, rule_id
),

-- every rule whose conditions all hold (an unknown signal never holds, so its rule never fires), and every rule
-- without conditions
matching_rules as (
    select
        conditions_met.customer_id,
        conditions_met.rule_id
    from conditions_met
    inner join rule_condition_counts on rule_condition_counts.rule_id = conditions_met.rule_id
    where conditions_met.met_count = rule_condition_counts.condition_count
    union all
    select
        signals.customer_id,
        rule_condition_counts.rule_id
    from signals
    cross join rule_condition_counts
    where rule_condition_counts.condition_count = 0
),

-- the consent statement that governs each matching rule
rule_consent as (
    select
        matching_rules.customer_id,
        matching_rules.rule_id,
        customer_consent.purpose,
        customer_consent.consent_channel,
        customer_consent.consent_status
    from matching_rules
    inner join rules on rules.rule_id = matching_rules.rule_id
    inner join customer_consent
        on customer_consent.customer_id = matching_rules.customer_id
        and (
            customer_consent.purpose in (rules.purpose, 'any')
            or (rules.is_promotional and customer_consent.purpose = 'marketing')
        )
        and rules.channel != 'none'
        and customer_consent.consent_channel in (rules.channel, 'any')
    qualify row_number() over (
        partition by matching_rules.customer_id, matching_rules.rule_id
        {{ c360_consent_precedence('customer_consent.') }}
    ) = 1
),

-- contact policy across departments
policy_checked as (
    select
        signals.customer_id,
        signals.reference_at,
        rules.*,
        case
            when rules.is_promotional and not coalesce(signals.is_promotion_allowed, false)
                then 'promotion not allowed (open complaint or recent bad experience)'
            when rules.is_promotional and restricted_customers.customer_id is not null
                then 'processing restricted (Art. 18)'
            when rule_consent.consent_status = 'opted_out'
                then 'opted out of ' || replace(rule_consent.purpose, 'any', 'all purposes') || ' by '
                    || replace(rule_consent.consent_channel, 'any', 'any channel')
            when rules.requires_consent is not null and rule_consent.consent_status is null
                then 'no ' || rules.requires_consent || ' consent'
        end as suppressed_because
    from matching_rules
    inner join signals on signals.customer_id = matching_rules.customer_id
    inner join rules on rules.rule_id = matching_rules.rule_id
    left join rule_consent
        on rule_consent.customer_id = matching_rules.customer_id
        and rule_consent.rule_id = matching_rules.rule_id
    left join restricted_customers on restricted_customers.customer_id = matching_rules.customer_id
),

chosen as (
    select *
    from policy_checked
    where suppressed_because is null
    qualify row_number() over (partition by customer_id order by priority, rule_id) = 1
),

-- the values of the signals the chosen rule tested
evidence as (
    select
        condition_results.customer_id,
        string_agg(
            condition_results.signal || ' = ' || coalesce(condition_results.signal_value, 'null'), ', '
            order by condition_results.signal
        ) as evidence
    from condition_results
    inner join chosen
        on chosen.customer_id = condition_results.customer_id
        and chosen.rule_id = condition_results.rule_id
    group by condition_results.customer_id
),

suppressed as (
    select
        policy_checked.customer_id,
        list(policy_checked.action_code || ': ' || policy_checked.suppressed_because order by policy_checked.priority)
            as suppressed_actions
    from policy_checked
    inner join chosen on chosen.customer_id = policy_checked.customer_id
    where policy_checked.suppressed_because is not null and policy_checked.priority < chosen.priority
    group by policy_checked.customer_id
),

final as (
    select
        chosen.customer_id,
        chosen.rule_id,
        chosen.priority,
        chosen.action_code,
        chosen.action,
        chosen.reason,
        coalesce(evidence.evidence, 'default rule: no conditions') as evidence,
        chosen.department,
        chosen.channel,
        chosen.is_promotional,
        coalesce(suppressed.suppressed_actions, cast([] as varchar[])) as suppressed_actions,
        chosen.reference_at
    from chosen
    left join evidence on evidence.customer_id = chosen.customer_id
    left join suppressed on suppressed.customer_id = chosen.customer_id
)

select * from final
