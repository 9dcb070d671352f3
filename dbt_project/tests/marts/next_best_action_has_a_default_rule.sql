{#- The playbook has a rule without conditions, so every customer gets exactly one action. -#}
select count(*) as default_rules
from {{ ref('int_next_best_action_rules') }} as rules
where not exists (
    select 1
    from {{ ref('int_next_best_action_conditions') }} as conditions
    where conditions.rule_id = rules.rule_id
)
having count(*) = 0
