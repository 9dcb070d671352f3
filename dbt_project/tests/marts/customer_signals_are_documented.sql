-- depends_on: {{ ref('int_customer_signals') }}
{#- Every column of int_customer_signals is documented in its YAML and the other way round: the documented list
    is what c360 checks next-best-action conditions against when it loads a project's playbook. -#}
{%- set built = [] -%}
{%- set documented = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref('int_customer_signals')) -%}
        {%- do built.append(column.name) -%}
    {%- endfor -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == 'int_customer_signals' -%}
        {%- for name in node.columns -%}{%- do documented.append(name) -%}{%- endfor -%}
    {%- endfor -%}
{%- endif -%}
{%- set undocumented = built | reject('in', documented) | list -%}
{%- set missing = documented | reject('in', built) | list -%}
select problem, column_name
from (
    select null as problem, null as column_name
    {%- for name in undocumented %}
    union all select 'built but not documented', '{{ name }}'
    {%- endfor %}
    {%- for name in missing %}
    union all select 'documented but not built', '{{ name }}'
    {%- endfor %}
)
where problem is not null
