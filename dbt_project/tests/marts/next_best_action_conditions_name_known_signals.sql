-- depends_on: {{ ref('int_customer_signals') }}
{#- Every condition of the next-best-action playbook names a column of int_customer_signals (a typo would make its
    rule silently never fire; c360 also checks it when it loads the configuration). -#}
{%- set signals = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref('int_customer_signals')) -%}
        {%- if column.name not in ['customer_id', 'reference_at'] -%}{%- do signals.append(column.name) -%}{%- endif -%}
    {%- endfor -%}
{%- endif -%}
select rule_id, signal
from {{ ref('int_next_best_action_conditions') }}
where signal not in ({% for signal in signals %}'{{ signal }}'{% if not loop.last %}, {% endif %}{% else %}''{% endfor %})
