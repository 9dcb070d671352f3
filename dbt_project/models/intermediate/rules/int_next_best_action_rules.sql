{#- The next-best-action playbook (customer360.yml `rules.next_best_action`, else the product's default playbook;
    var c360_nba_rules set by c360): what, why, who, how, priority, and the contact policy flags: the purpose
    whose consent governs the rule (its `requires_consent`, else its `purpose`, else `marketing` for a promotional
    rule and `service` for the others). -#}
{%- set rules = var('c360_nba_rules') -%}
with

rules as (
    {%- for rule in rules %}
    select
        {{ c360_literal(rule.rule_id) }} as rule_id,
        {{ rule.priority }} as priority,
        {{ c360_literal(rule.action_code) }} as action_code,
        {{ c360_literal(rule.action) }} as action,
        {{ c360_literal(rule.reason) }} as reason,
        cast({{ c360_literal(rule.department) }} as varchar) as department,
        {{ c360_literal(rule.channel) }} as channel,
        {{ 'true' if rule.is_promotional else 'false' }} as is_promotional,
        cast({{ c360_literal(rule.requires_consent) }} as varchar) as requires_consent,
        {{ c360_literal(rule.purpose) }} as purpose
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as varchar) as rule_id, cast(null as integer) as priority, cast(null as varchar) as action_code,
        cast(null as varchar) as action, cast(null as varchar) as reason, cast(null as varchar) as department,
        cast(null as varchar) as channel, cast(null as boolean) as is_promotional,
        cast(null as varchar) as requires_consent, cast(null as varchar) as purpose
    where false
    {%- endfor %}
),

final as (
    select * from rules
)

select * from final
