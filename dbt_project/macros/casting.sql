{#-
    Typing raw values in staging. Raw tables from files and APIs hold text (and JSON); raw tables from databases
    keep the source's types (SQLite is read as text, PostgreSQL keeps its own). Every macro therefore casts to
    text first and parses from there, so one staging model serves every connector. Unparseable values become
    NULL (they are the quality gate's business, not a reason to fail a build).
-#}

{# An instant: ISO 8601 with offset or `Z`, or a database timestamp(tz); naive values are read in the project's
   time_zone (c360_parse_timestamp, below, also takes strptime formats). #}
{% macro c360_to_timestamp(expression) -%}
    {{ c360_parse_timestamp(expression) }}
{%- endmacro %}

{# A calendar date: ISO (`1985-12-24`) or German (`24.12.1985`, `24.12.85`). #}
{% macro c360_to_date(expression) -%}
    coalesce(
        try_cast(nullif(trim(cast({{ expression }} as varchar)), '') as date),
        cast({{ c360_strptime("nullif(trim(cast(" ~ expression ~ " as varchar)), '')", ['%d.%m.%Y', '%d.%m.%y', '%d/%m/%Y']) }} as date)
    )
{%- endmacro %}

{#
    Money and other numbers as people write them: `59.89`, `59,89`, `1.234,56`, `1,234.56`, `-3`. A comma alone is a
    decimal comma ("12,50"); with dots in groups of three, it is German notation; commas in groups of three before a
    point are thousands. (expectations/values.py `number_of` reads numbers the same way for the quality gate.)
#}
{% macro c360_to_amount(expression) -%}
    {%- set text = "trim(cast(" ~ expression ~ " as varchar))" -%}
    try_cast(
        case
            when regexp_full_match({{ text }}, '[+-]?[0-9]{1,3}([.][0-9]{3})+(,[0-9]+)?')
                then replace(replace({{ text }}, '.', ''), ',', '.')
            when regexp_full_match({{ text }}, '[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]+)?') then replace({{ text }}, ',', '')
            when regexp_full_match({{ text }}, '[+-]?[0-9]*,[0-9]+') then replace({{ text }}, ',', '.')
            else {{ text }}
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

{#
    An instant from a value as sources write it: ISO 8601 with an offset or `Z` is taken as is; a naive value (ISO
    without offset, a date, or one of `formats`, e.g. `%d.%m.%Y %H:%M`) is read as wall-clock time in `time_zone`
    (the project's `time_zone`, var c360_time_zone). Database timestamps (with or without zone) work the same way.
    Ambiguous and non-existent local times around DST changes follow DuckDB/ICU rules. Unparseable values become
    NULL.
#}
{% macro c360_parse_timestamp(expression, formats=[], time_zone=none) -%}
    {%- set zone = time_zone or var('c360_time_zone', 'UTC') -%}
    {%- set text = "nullif(trim(cast(" ~ expression ~ " as varchar)), '')" -%}
    case
        when regexp_matches({{ text }}, '[0-9][T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$')
            then try_cast({{ text }} as timestamptz)
        else timezone('{{ zone }}', coalesce(
            try_cast({{ text }} as timestamp)
            {%- if formats %}, {{ c360_strptime(text, formats) }}{% endif %}
        ))
    end
{%- endmacro %}

{#
    try_strptime over `formats` (tried in order). DuckDB 1.5's strptime compares a format's literals without checking
    the value's end, so a value that stops where the format goes on (`24.12.2023 10:15` against `%d.%m.%Y %H:%M:%S`)
    is read one byte too far, which can crash the process. A sentinel byte closing both the value and every format
    keeps each read inside the value. (expectations/values.py `strptime_of` does the same for the quality gate.)
#}
{% macro c360_strptime(text, formats) -%}
    try_strptime(trim({{ text }}) || chr(31), [
        {%- for format in formats %}'{{ format | replace("'", "''") }}' || chr(31){% if not loop.last %}, {% endif %}{% endfor -%}
    ])
{%- endmacro %}

{# A calendar date of an instant in the project's time zone. #}
{% macro c360_local_date(expression) -%}
    cast(timezone('{{ var('c360_time_zone', 'UTC') }}', {{ expression }}) as date)
{%- endmacro %}

{#- the last microsecond of the local day (c360_time_zone) of a timestamptz -#}
{% macro c360_end_of_local_day(expression) -%}
    timezone('{{ var('c360_time_zone', 'UTC') }}', cast({{ c360_local_date(expression) }} + 1 as timestamp))
        - interval 1 microsecond
{%- endmacro %}
