{#-
    Every configured consent statement's rows (customer360.yml `sources.<name>.consent`, the var
    c360_consent_statements set by c360): what a person allows or refuses, per purpose and channel, with when and
    on which legal basis, keyed by the identity record the row belongs to. Rows whose status is neither
    `opted_in` nor `opted_out` state nothing and are left out. Every delivered version; int_consent_events keeps
    the latest per statement.
-#}
{%- set statements = var('c360_consent_statements') -%}
{%- set selects = [] -%}
{%- for statement in statements -%}
    {%- set rows = c360_item_rows(statement) -%}
    {%- if rows is not none -%}{%- do selects.append((statement, rows)) -%}{%- endif -%}
{%- endfor -%}

with

mapped as (
{%- for statement, rows in selects %}
    {%- set formats = statement.timestamp_formats %}
    select
        '{{ statement.source }}' as source_name,
        '{{ statement.statement }}' as statement,
        '{{ statement.identity.source_system }}' as source_system,
        {{ c360_literal(statement.source ~ '.' ~ (statement.table or statement.model)) }} as evidence_source,
        cast({{ statement.record }} as varchar) as record_value,
        {{ 'true' if statement.identity.record_key else 'false' }} as is_record_looked_up,
        cast({{ statement.id or statement.record }} as varchar) as statement_key,
        '{{ statement.purpose }}' as purpose,
        '{{ statement.channel or "any" }}' as consent_channel,
        lower({{ c360_text(statement.status) }}) as consent_status,
        {{ c360_parse_timestamp(statement.at, formats) }} as stated_at,
        {{ c360_parse_timestamp(statement.updated_at, formats) if statement.updated_at else 'cast(null as timestamptz)' }} as updated_at,
        {{ c360_text(statement.legal_basis or 'null') }} as legal_basis,
        {{ c360_load_columns(statement) }}
    from {{ rows }} as source_rows
    {%- if statement.where %}
    where ({{ statement.where }})
    {%- endif %}
    {% if not loop.last %}union all {% endif %}
{%- else %}
    select
        {%- for name in ['source_name', 'statement', 'source_system', 'evidence_source', 'record_value'] %}
        cast(null as varchar) as {{ name }},
        {%- endfor %}
        false as is_record_looked_up,
        {%- for name in ['statement_key', 'purpose', 'consent_channel', 'consent_status'] %}
        cast(null as varchar) as {{ name }},
        {%- endfor %}
        cast(null as timestamptz) as stated_at,
        cast(null as timestamptz) as updated_at,
        cast(null as varchar) as legal_basis,
        {{ c360_empty_load_columns() }}
    where false
{%- endfor %}
),

final as (
    select *
    from mapped
    where consent_status in ('opted_in', 'opted_out')
)

select * from final
