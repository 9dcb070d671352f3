{#- Orders: latest version per order (status changes arrive as new versions), typed. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('sales', 'orders')) }}
),

renamed as (
    select
        {{ c360_text('order_id') }} as order_id,
        {{ c360_text('order_number') }} as order_number,
        {{ c360_text('customer_id') }} as sales_customer_id,
        {{ c360_to_timestamp('ordered_at') }} as ordered_at,
        lower({{ c360_text('channel') }}) as channel,
        lower({{ c360_text('status') }}) as status,
        {{ c360_to_amount('total_amount') }} as total_amount,
        coalesce(upper({{ c360_text('currency') }}), 'EUR') as currency,
        lower({{ c360_text('payment_method') }}) as payment_method,
        {{ c360_to_timestamp('updated_at') }} as updated_at,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

final as (
    select * from renamed
    where order_id is not null
    {{ c360_latest_version('order_id', 'updated_at') }}
)

select * from final
