{#-
    The rows of a declared source table that passed the quality gate (see c360_valid_rows), or — when the raw
    table does not exist yet (first run, or its silo could not be read) — an empty relation with the columns
    declared for it in `_<source>__sources.yml`. A silo that is down therefore leaves its staging models empty
    instead of failing the build for every other silo.

    Usage (in a staging model, the only place that calls source()):
        from {{ c360_source_rows(source('sales', 'orders')) }} as source_rows
-#}
{% macro c360_source_rows(relation) -%}
    {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) if execute else relation -%}
    {%- if existing is not none -%}
        {{ c360_valid_rows(relation) }}
    {%- else -%}
        {{ log("source " ~ relation ~ " has not been loaded yet: its staging model is empty", info=true) }}
        {%- set declared = [] -%}
        {%- for node in graph.sources.values() -%}
            {%- if node.schema == relation.schema and node.identifier == relation.identifier -%}
                {%- for column in node.columns.values() -%}
                    {%- do declared.append((column.name, column.data_type or 'varchar')) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
        (
            select
                cast(null as varchar) as _c360_batch_id,
                cast(null as timestamptz) as _c360_loaded_at,
                cast(null as varchar) as _c360_source,
                cast(null as bigint) as _c360_row_number,
                cast(null as varchar) as _c360_row_hash
                {%- for name, data_type in declared %},
                cast(null as {{ data_type }}) as {{ adapter.quote(name) if name != name | lower else name }}
                {%- endfor %}
            where false
        )
    {%- endif -%}
{%- endmacro %}
