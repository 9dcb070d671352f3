{#-
    Configured rows that belong to identity records (touchpoint streams and consent statements of customer360.yml,
    passed as vars by c360): where they come from, and which identity record each belongs to.
-#}

{#
    The rows of a stream or statement: a raw table's rows that passed the quality gate, or a project model. Returns
    none when the raw table has not been loaded yet (first run, or its source failed): the item is then skipped.
#}
{% macro c360_item_rows(item) -%}
    {%- if item.model -%}
        {{ return(ref(item.model)) }}
    {%- endif -%}
    {%- set relation = c360_raw_relation(item.schema, item.table) -%}
    {%- if relation is none -%}
        {{ log(item.source ~ "." ~ item.table ~ " has not been loaded yet: its rows are skipped", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {{ return(c360_valid_rows(relation)) }}
{%- endmacro %}

{#
    (item, lookup value, source_record_id) for every item whose `record` is not the identity record's id but another
    key of it (`record_key`, e.g. an order's customer number): the latest value per identity record. When two
    records share a value, the smallest record id wins (deterministic; the value is then not a key).
#}
{% macro c360_record_lookups(items, item_name) -%}
    {%- set lookups = [] -%}
    {%- for item in items if item.identity.record_key -%}
        {%- set relation = c360_raw_relation(item.identity.schema, item.identity.table) -%}
        {%- if relation is not none -%}{%- do lookups.append((item, relation)) -%}{%- endif -%}
    {%- endfor -%}
    {%- for item, relation in lookups %}
    select
        '{{ item.source }}' as source_name,
        '{{ item[item_name] }}' as item_name,
        lookup_value,
        min(source_record_id) as source_record_id
    from (
        select
            cast({{ item.identity.record_key }} as varchar) as lookup_value,
            cast({{ item.identity.source_record_id }} as varchar) as source_record_id
        from {{ c360_valid_rows(relation) }} as source_rows
        {%- if item.identity.where %}
        where ({{ item.identity.where }})
        {%- endif %}
        qualify row_number() over (
            partition by cast({{ item.identity.source_record_id }} as varchar)
            order by _c360_loaded_at desc, _c360_batch_id desc, _c360_row_number desc
        ) = 1
    ) as keys
    where lookup_value is not null and source_record_id is not null
    group by lookup_value
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as varchar) as source_name,
        cast(null as varchar) as item_name,
        cast(null as varchar) as lookup_value,
        cast(null as varchar) as source_record_id
    where false
    {%- endfor %}
{%- endmacro %}

{# A SQL string literal (single quotes doubled). #}
{% macro c360_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}

{# The attribute names (customer360.yml `attributes:`) of the touchpoint streams of one kind, in config order. #}
{% macro c360_kind_attributes(kind) -%}
    {%- set names = [] -%}
    {%- for stream in var('c360_touchpoint_streams') if stream.kind == kind -%}
        {%- for name in stream.attributes if name not in names -%}{%- do names.append(name) -%}{%- endfor -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{# The load metadata of a stream's or statement's rows: a raw table's, or (project models) their `loaded_at`. #}
{% macro c360_load_columns(item) -%}
        try_cast({{ item.loaded_at }} as timestamptz) as loaded_at,
        {{ '_c360_batch_id' if item.table else 'cast(null as varchar)' }} as batch_id,
        {{ '_c360_row_number' if item.table else 'cast(null as bigint)' }} as batch_row_number
{%- endmacro %}

{# The same columns, typed, for the empty relation a model returns when nothing is configured or loaded. #}
{% macro c360_empty_load_columns() -%}
        cast(null as timestamptz) as loaded_at,
        cast(null as varchar) as batch_id,
        cast(null as bigint) as batch_row_number
{%- endmacro %}
