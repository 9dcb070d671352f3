{#-
    Typing raw values in staging. Raw tables from files and APIs hold text (and JSON); raw tables from databases
    keep the source's types (SQLite is read as text, PostgreSQL keeps its own). Every macro therefore casts to
    text first and parses from there, so one staging model serves every connector. Unparseable values become
    NULL (they are the quality gate's business, not a reason to fail a build).
-#}

{# An instant: ISO 8601 with offset or `Z`, or a database timestamp(tz). Naive values are read as UTC. #}
{% macro c360_to_timestamp(expression) -%}
    try_cast(nullif(trim(cast({{ expression }} as varchar)), '') as timestamptz)
{%- endmacro %}

{#
    Local wall-clock time in a given format (e.g. the newsletter tool's `01.03.2024 14:22`, Europe/Berlin), as an
    instant. Ambiguous and non-existent local times around DST changes follow DuckDB/ICU rules.
#}
{% macro c360_local_timestamp(expression, format='%d.%m.%Y %H:%M', time_zone='Europe/Berlin') -%}
    timezone('{{ time_zone }}', try_strptime(nullif(trim(cast({{ expression }} as varchar)), ''), '{{ format }}'))
{%- endmacro %}

{# A calendar date: ISO (`1985-12-24`) or German (`24.12.1985`, `24.12.85`). #}
{% macro c360_to_date(expression) -%}
    coalesce(
        try_cast(nullif(trim(cast({{ expression }} as varchar)), '') as date),
        cast(try_strptime(nullif(trim(cast({{ expression }} as varchar)), ''), ['%d.%m.%Y', '%d.%m.%y', '%d/%m/%Y']) as date)
    )
{%- endmacro %}

{# Money: `59.89`, also German `59,89` / `1.234,56`. #}
{% macro c360_to_amount(expression) -%}
    try_cast(
        case
            when cast({{ expression }} as varchar) like '%,%'
                then replace(replace(trim(cast({{ expression }} as varchar)), '.', ''), ',', '.')
            else trim(cast({{ expression }} as varchar))
        end
        as decimal(18, 2)
    )
{%- endmacro %}

{% macro c360_to_integer(expression) -%}
    try_cast(try_cast(nullif(trim(cast({{ expression }} as varchar)), '') as double) as bigint)
{%- endmacro %}

{# Booleans as sources write them: 1/0, true/false, ja/nein, yes/no, t/f, y/n, j/n. #}
{% macro c360_to_boolean(expression) -%}
    case lower(trim(cast({{ expression }} as varchar)))
        when '1' then true when 'true' then true when 't' then true when 'ja' then true when 'j' then true
        when 'yes' then true when 'y' then true
        when '0' then false when 'false' then false when 'f' then false when 'nein' then false when 'n' then false
        when 'no' then false
    end
{%- endmacro %}

{# Trimmed text, empty → NULL. #}
{% macro c360_text(expression) -%}
    nullif(trim(cast({{ expression }} as varchar)), '')
{%- endmacro %}

{#
    Raw tables are append-only: every delivered version of a row is kept. Staging keeps the latest version per
    primary key: latest business timestamp first, then the latest load, then the latest position in a delivery.
    Expects the load metadata renamed to loaded_at, batch_id, batch_row_number (as every staging model does).
#}
{% macro c360_latest_version(primary_key, updated_at) -%}
    qualify row_number() over (
        partition by {{ primary_key }}
        order by {{ updated_at }} desc nulls last, loaded_at desc, batch_id desc, batch_row_number desc
    ) = 1
{%- endmacro %}
