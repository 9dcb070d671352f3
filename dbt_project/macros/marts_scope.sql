{#-
    Incremental marts (customer360/marts_scope.py, docs/architecture.md#incremental-and-idempotent). The marts keyed by
    customer are `incremental` models: when the resolution's outputs, the privacy requests or what these models read
    from staging changed only for some customers since the last marts build (a decision, a restriction, a delivery
    within the day), c360 writes those customers — under their old and their new IDs — to meta.marts_scope, and
    each such model deletes their rows and appends them anew. Any other change (the reference time, the
    configuration, the product's or the project's dbt code) makes c360 pass --full-refresh. Without
    meta.marts_scope (a `dbt build` by hand) an incremental model rebuilds all its rows.
-#}

{% macro c360_incremental_by_customer() -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'pre_hook': '{{ c360_delete_marts_scope() }}',
    }) -}}
{%- endmacro %}

{#- true in an incremental build that c360 scoped to the customers in meta.marts_scope, and in its data tests -#}
{% macro c360_marts_scoped() -%}
    {{- return(execute and (is_incremental() or model.resource_type == 'test') and c360_scope_exists()) -}}
{%- endmacro %}

{#- a filter for the rows of the customers in scope (`true` in a full build): in a model, and in a singular test -#}
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

{#-
    Data tests in a scoped build check only the customers in scope of a mart built per customer: every other row
    is the one the last build wrote and tested, on the same code and data (that is what makes a build scoped).
    dbt calls this for the model a generic test reads (and applies a test's own `where` here too); a full build,
    and every other model, is tested whole.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do filters.append('(' ~ where ~ ')') -%}{%- endif -%}
    {%- if c360_scope_exists() and c360_built_per_customer(relation) -%}
        {%- do filters.append('customer_id in (select customer_id from meta.marts_scope)') -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- whether c360 scoped this build (meta.marts_scope exists only from its plan to the end of the build) -#}
{% macro c360_scope_exists() -%}
    {%- if execute -%}
        {{- return(adapter.get_relation(database=target.database, schema='meta', identifier='marts_scope') is not none) -}}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}

{#- whether a relation is a model materialized by c360_incremental_by_customer() (the graph: at execution only) -#}
{% macro c360_built_per_customer(relation) -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == relation.identifier
        and node.schema == relation.schema -%}
        {%- set hooks = node.config.get('pre-hook', []) | map(attribute='sql') | join(' ') -%}
        {{- return(node.config.materialized == 'incremental' and 'c360_delete_marts_scope' in hooks) -}}
    {%- endfor -%}
    {{- return(false) -}}
{%- endmacro %}
