{#-
    The rows of a raw table that passed the quality gate: everything delivered, minus rows held in
    quarantine.<source>__<table> (unless released), minus batches the gate rejected as a whole and minus batches a
    reload superseded (c360 ingest --reload).
    Every staging model reads raw data through this macro, so quarantine works the same everywhere.
-#}
{% macro c360_valid_rows(relation) -%}
    {%- set quarantine_name = relation.schema[4:] ~ '__' ~ relation.identifier -%}
    {%- set quarantine = adapter.get_relation(database=relation.database, schema='quarantine', identifier=quarantine_name) if execute else none -%}
    (
        select raw_rows.*
        from {{ relation }} as raw_rows
        {%- if quarantine %}
        anti join (
            select _c360_batch_id, _c360_row_number
            from {{ quarantine }}
            where _c360_released_at is null
        ) as quarantined using (_c360_batch_id, _c360_row_number)
        {%- endif %}
        where raw_rows._c360_batch_id not in (
            select batch_id from {{ relation.database }}.meta.batches where status in ('rejected', 'superseded')
        )
    )
{%- endmacro %}

{# The relation of a raw table, or none when it has not been loaded yet (first run, or its source failed). #}
{% macro c360_raw_relation(schema, table) -%}
    {%- if execute -%}
        {{ return(adapter.get_relation(database=target.database, schema=schema, identifier=table)) }}
    {%- else -%}
        {{ return(api.Relation.create(database=target.database, schema=schema, identifier=table)) }}
    {%- endif -%}
{%- endmacro %}
