{#- Ticket comments: latest version per comment, typed. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('service', 'ticket_comments')) }}
),

renamed as (
    select
        {{ c360_text('id') }} as ticket_comment_id,
        {{ c360_text('ticket_id') }} as ticket_id,
        lower({{ c360_text('author_role') }}) as author_role,
        {{ c360_text('body') }} as body,
        coalesce({{ c360_to_boolean('public') }}, true) as is_public,
        {{ c360_to_timestamp('created_at') }} as created_at,
        {{ c360_to_timestamp('updated_at') }} as updated_at,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

final as (
    select * from renamed
    where ticket_comment_id is not null
    {{ c360_latest_version('ticket_comment_id', 'updated_at') }}
)

select * from final
