{#- Helpdesk tickets: latest version per ticket, typed; requester and satisfaction rating unnested. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('service', 'tickets')) }}
),

renamed as (
    select
        {{ c360_text('id') }} as ticket_id,
        {{ c360_text('subject') }} as subject,
        {{ c360_text('description') }} as description,
        lower({{ c360_text('status') }}) as status,
        lower({{ c360_text('priority') }}) as priority,
        lower({{ c360_text('type') }}) as ticket_type,
        lower({{ c360_text('channel') }}) as channel,
        {{ c360_text("json_extract_string(requester, '$.id')") }} as requester_id,
        {{ c360_text("json_extract_string(requester, '$.name')") }} as requester_name,
        nullif(lower(regexp_replace(json_extract_string(requester, '$.email'), '\s+', '', 'g')), '') as requester_email,
        {{ c360_text("json_extract_string(requester, '$.phone')") }} as requester_phone,
        {{ c360_text('order_number') }} as order_number,
        {{ c360_to_timestamp('created_at') }} as created_at,
        {{ c360_to_timestamp('updated_at') }} as updated_at,
        {{ c360_to_timestamp('solved_at') }} as solved_at,
        -- CSAT is 1..5; anything else is not a rating
        case
            when {{ c360_to_integer("json_extract_string(satisfaction_rating, '$.score')") }} between 1 and 5
                then {{ c360_to_integer("json_extract_string(satisfaction_rating, '$.score')") }}
        end as csat_score,
        {{ c360_text("json_extract_string(satisfaction_rating, '$.comment')") }} as csat_comment,
        coalesce(
            list_transform(try_cast(json_extract(tags, '$') as varchar[]), tag -> lower(trim(tag))),
            cast([] as varchar[])
        ) as tags,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

latest as (
    select * from renamed
    where ticket_id is not null
    {{ c360_latest_version('ticket_id', 'updated_at') }}
),

final as (
    select
        *,
        status in ('new', 'open', 'pending', 'hold', 'on-hold') as is_open,
        ticket_type = 'complaint' or list_contains(tags, 'reklamation') as is_complaint
    from latest
)

select * from final
