{#-
    Every configured touchpoint stream's rows (customer360.yml `sources.<name>.touchpoints`, the var
    c360_touchpoint_streams set by c360) mapped onto the touchpoint schema: every delivered version, typed, with
    the key of the identity record each belongs to. int_touchpoints_unioned keeps the latest version and finds the
    identity record. A new stream therefore needs configuration only; a stream whose raw table has not been loaded
    yet is skipped.
-#}
{%- set streams = var('c360_touchpoint_streams') -%}
{%- set attribute_names = [] -%}
{%- for stream in streams -%}
    {%- for name in stream.attributes if name not in attribute_names -%}{%- do attribute_names.append(name) -%}{%- endfor -%}
{%- endfor -%}
{%- set selects = [] -%}
{%- for stream in streams -%}
    {%- set rows = c360_item_rows(stream) -%}
    {%- if rows is not none -%}{%- do selects.append((stream, rows)) -%}{%- endif -%}
{%- endfor -%}

with

mapped as (
{%- for stream, rows in selects %}
    {%- set f = stream.fields -%}
    {%- set k = stream.kpis -%}
    {%- set formats = stream.timestamp_formats -%}
    {%- set low, high = stream.satisfaction_scale -%}
    select
        '{{ stream.source }}' as source_name,
        '{{ stream.stream }}' as stream,
        '{{ stream.kind }}' as kind,
        '{{ stream.identity.source_system }}' as source_system,
        {{ c360_literal(stream.table or stream.model) }} as source_table,
        cast({{ stream.record }} as varchar) as record_value,
        {{ 'true' if stream.identity.record_key else 'false' }} as is_record_looked_up,
        cast({{ stream.id }} as varchar) as source_id,
        {{ c360_parse_timestamp(f.occurred_at, formats) }} as occurred_at,
        {{ c360_parse_timestamp(f.updated_at, formats) if f.updated_at else 'cast(null as timestamptz)' }} as updated_at,
        {{ c360_parse_timestamp(f.last_activity_at, formats) if f.last_activity_at else 'cast(null as timestamptz)' }} as last_activity_at,
        lower({{ c360_text(f.channel or 'null') }}) as channel,
        {{ c360_text(f.type or 'null') }} as touchpoint_type,
        {{ c360_text(f.title or 'null') }} as summary,
        {{ c360_text(f.status or 'null') }} as status,
        {{ c360_to_amount(f.amount or 'null') }} as amount,
        upper({{ c360_text(f.currency or 'null') }}) as currency,
        {{ c360_text(f.reference or 'null') }} as reference,
        lower({{ c360_text(f.direction or 'null') }}) as direction,
        '{{ stream.department }}' as department,
        lower({{ c360_text(f.sentiment or 'null') }}) as sentiment,
        {{ c360_to_amount(k.revenue or 'null') }} as revenue,
        {{ c360_to_boolean(k.is_cancelled or 'null') }} as is_cancelled,
        {{ c360_to_boolean(k.is_returned or 'null') }} as is_returned,
        {{ c360_to_boolean(k.is_open or 'null') }} as is_open,
        {{ c360_to_boolean(k.is_complaint or 'null') }} as is_complaint,
        -- a rating on the stream's scale, mapped onto 1..5; values outside the scale are no rating
        case
            when try_cast({{ k.satisfaction or 'null' }} as double) between {{ low }} and {{ high }}
                then round(1 + 4 * (try_cast({{ k.satisfaction or 'null' }} as double) - {{ low }}) / ({{ high }} - {{ low }}), 2)
        end as csat_score,
        lower({{ c360_text(k.engagement or 'null') }}) as engagement,
        lower({{ c360_text(k.recipient or 'null') }}) as recipient,
        {%- for name in attribute_names %}
        {{ stream.attributes[name] if name in stream.attributes else 'null' }} as {{ name }},
        {%- endfor %}
        {{ c360_load_columns(stream) }}
    from {{ rows }} as source_rows
    {%- if stream.where %}
    where ({{ stream.where }})
    {%- endif %}
    {% if not loop.last %}union all {% endif %}
{%- else %}
    {#- no stream configured or loaded yet: an empty relation with the right columns -#}
    select
        {%- for name in ['source_name', 'stream', 'kind', 'source_system', 'source_table', 'record_value'] %}
        cast(null as varchar) as {{ name }},
        {%- endfor %}
        false as is_record_looked_up,
        cast(null as varchar) as source_id,
        cast(null as timestamptz) as occurred_at,
        cast(null as timestamptz) as updated_at,
        cast(null as timestamptz) as last_activity_at,
        {%- for name in ['channel', 'touchpoint_type', 'summary', 'status'] %}
        cast(null as varchar) as {{ name }},
        {%- endfor %}
        cast(null as decimal(18, 2)) as amount,
        {%- for name in ['currency', 'reference', 'direction', 'department', 'sentiment'] %}
        cast(null as varchar) as {{ name }},
        {%- endfor %}
        cast(null as decimal(18, 2)) as revenue,
        {%- for name in ['is_cancelled', 'is_returned', 'is_open', 'is_complaint'] %}
        cast(null as boolean) as {{ name }},
        {%- endfor %}
        cast(null as double) as csat_score,
        cast(null as varchar) as engagement,
        cast(null as varchar) as recipient,
        {{ c360_empty_load_columns() }}
    where false
{%- endfor %}
),

final as (
    select
        source_name || ':' || stream || ':' || source_id as touchpoint_id,
        *
    from mapped
)

select * from final
