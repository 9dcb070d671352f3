{#-
    Incremental marts (customer360/marts_scope.py, docs/architecture.md#incremental-and-idempotent). The marts keyed by
    customer are `incremental` models: when only the resolution's outputs and privacy requests changed since the
    last marts build (a decision, a restriction), c360 writes the customers affected — under their old and their
    new IDs — to meta.marts_scope, and each such model deletes those customers' rows and appends them anew. Any
    other change (staging rebuilt, the configuration, the product's or the project's dbt code) makes c360 pass
    --full-refresh. Without meta.marts_scope (a `dbt build` by hand) an incremental model rebuilds all its rows.
-#}

{% macro c360_incremental_by_customer() -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': '{{ c360_delete_marts_scope() }}',
    }) -}}
{%- endmacro %}

{#- true in an incremental build that c360 scoped to the customers in meta.marts_scope -#}
{% macro c360_marts_scoped() -%}
    {%- if execute and is_incremental() -%}
        {{- return(adapter.get_relation(database=target.database, schema='meta', identifier='marts_scope') is not none) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}

{#- a filter for the rows of the customers in scope (`true` in a full build) -#}
{% macro c360_in_marts_scope(customer_id) -%}
    {%- if c360_marts_scoped() -%}
        {{ customer_id }} in (select customer_id from meta.marts_scope)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- pre-hook: the rows an incremental build writes anew go first -#}
{% macro c360_delete_marts_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ c360_in_marts_scope('customer_id') }}
    {%- endif -%}
{%- endmacro %}
