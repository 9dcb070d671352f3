{#- Campaign events: one row per event id (a re-delivered event counts once), typed. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('marketing', 'campaign_events')) }}
),

renamed as (
    select
        {{ c360_text('event_id') }} as event_id,
        {{ c360_text('contact_id') }} as contact_id,
        nullif(lower(regexp_replace(cast(email as varchar), '\s+', '', 'g')), '') as email,
        {{ c360_text('campaign_id') }} as campaign_id,
        {{ c360_text('campaign_name') }} as campaign_name,
        lower({{ c360_text('channel') }}) as channel,
        lower({{ c360_text('event_type') }}) as event_type,
        {{ c360_to_timestamp('occurred_at') }} as occurred_at,
        {{ c360_text('url') }} as url,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

final as (
    select * from renamed
    where event_id is not null
    {{ c360_latest_version('event_id', 'occurred_at') }}
)

select * from final
