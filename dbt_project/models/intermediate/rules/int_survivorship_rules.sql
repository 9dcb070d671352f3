{#- Survivorship rules of the golden record (customer360.yml `rules.survivorship` over the product's defaults; var
    c360_survivorship set by c360): per attribute group, the trusted sources in order and the ranking criteria. -#}
{%- set groups = var('c360_survivorship') -%}
with

rules as (
    {%- for group in groups %}
    select
        {{ c360_literal(group.attribute_group) }} as attribute_group,
        {{ c360_literal(group.source_trust) }} as source_trust,
        {{ c360_literal(group.ranking) }} as ranking
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select cast(null as varchar) as attribute_group, cast(null as varchar) as source_trust, cast(null as varchar) as ranking
    where false
    {%- endfor %}
),

final as (
    select * from rules
)

select * from final
