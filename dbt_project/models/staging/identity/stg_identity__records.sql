{#-
    Every source's person-like rows mapped onto the identity schema, as configured in customer360.yml
    (`sources.<name>.identity`). The mapping arrives as the var `c360_identity_mappings`, set by `c360`; a new
    silo therefore needs configuration only. All versions of a record are kept here; int_identity_records
    keeps the latest.
-#}
{%- set mappings = var('c360_identity_mappings') -%}
{%- set text_fields = ['first_name', 'last_name', 'full_name', 'email', 'phone', 'street', 'postcode', 'city', 'country'] -%}

with

{% set selects = [] -%}
{%- for mapping in mappings -%}
    {%- set relation = c360_raw_relation(mapping.schema, mapping.table) -%}
    {%- if relation is none -%}
        {{ log("identity mapping " ~ mapping.source_system ~ ": " ~ mapping.schema ~ "." ~ mapping.table ~ " has not been loaded yet; skipped", info=true) }}
    {%- else -%}
        {%- do selects.append((mapping, relation)) -%}
    {%- endif -%}
{%- endfor %}

mapped as (
{%- for mapping, relation in selects %}
    select
        '{{ mapping.source_system }}' as source_system,
        cast({{ mapping.source_record_id }} as varchar) as source_record_id,
        {%- for field in text_fields %}
        cast({{ mapping.fields[field] or 'null' }} as varchar) as {{ field }},
        {%- endfor %}
        cast({{ mapping.fields.date_of_birth or 'null' }} as varchar) as date_of_birth_text,
        coalesce(
            try_cast({{ c360_strptime("cast(" ~ (mapping.fields.date_of_birth or 'null') ~ " as varchar)", mapping.date_formats) }} as date),
            try_cast({{ mapping.fields.date_of_birth or 'null' }} as date)
        ) as date_of_birth,
        {{ c360_parse_timestamp(mapping.fields.updated_at, mapping.timestamp_formats) if mapping.fields.updated_at else 'cast(null as timestamptz)' }} as updated_at,
        {{ c360_parse_timestamp(mapping.fields.created_at, mapping.timestamp_formats) if mapping.fields.created_at else 'cast(null as timestamptz)' }} as created_at,
        cast({{ mapping.fields.reference_numbers or 'null' }} as varchar[]) as reference_numbers,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number,
        _c360_loaded_at as loaded_at
    from {{ c360_valid_rows(relation) }} as source_rows
    where {{ mapping.source_record_id }} is not null
    {%- if mapping.where %}
        and ({{ mapping.where }})
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
{%- else %}
    {#- nothing configured or loaded yet: an empty relation with the right columns -#}
    select
        cast(null as varchar) as source_system,
        cast(null as varchar) as source_record_id,
        {%- for field in text_fields %}
        cast(null as varchar) as {{ field }},
        {%- endfor %}
        cast(null as varchar) as date_of_birth_text,
        cast(null as date) as date_of_birth,
        cast(null as timestamptz) as updated_at,
        cast(null as timestamptz) as created_at,
        cast(null as varchar[]) as reference_numbers,
        cast(null as varchar) as batch_id,
        cast(null as bigint) as batch_row_number,
        cast(null as timestamptz) as loaded_at
    where false
{%- endfor %}
),

final as (
    select * from mapped
)

select * from final
