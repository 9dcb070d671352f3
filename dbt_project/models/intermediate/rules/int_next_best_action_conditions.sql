{#- When each rule of the playbook holds: one row per condition (var c360_nba_conditions set by c360 from the
    playbook's `when:` lists); a rule holds when all its conditions hold. -#}
{%- set conditions = var('c360_nba_conditions') -%}
with

conditions as (
    {%- for condition in conditions %}
    select
        {{ c360_literal(condition.rule_id) }} as rule_id,
        {{ c360_literal(condition.signal) }} as signal,
        {{ c360_literal(condition.operator) }} as operator,
        cast({{ c360_literal(condition.value) }} as varchar) as value
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as varchar) as rule_id, cast(null as varchar) as signal, cast(null as varchar) as operator,
        cast(null as varchar) as value
    where false
    {%- endfor %}
),

final as (
    select * from conditions
)

select * from final
