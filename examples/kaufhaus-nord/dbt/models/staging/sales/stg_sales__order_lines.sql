{#- Order lines: latest version per line (returns arrive as new versions), typed, with line and returned amounts. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('sales', 'order_lines')) }}
),

renamed as (
    select
        {{ c360_text('order_line_id') }} as order_line_id,
        {{ c360_text('order_id') }} as order_id,
        {{ c360_to_integer('line_number') }} as line_number,
        {{ c360_text('sku') }} as sku,
        {{ c360_text('product_name') }} as product_name,
        {{ c360_text('category') }} as category,
        coalesce({{ c360_to_integer('quantity') }}, 0) as quantity,
        {{ c360_to_amount('unit_price') }} as unit_price,
        coalesce({{ c360_to_amount('discount_amount') }}, 0) as discount_amount,
        coalesce({{ c360_to_integer('returned_quantity') }}, 0) as returned_quantity,
        {{ c360_to_timestamp('updated_at') }} as updated_at,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

latest as (
    select * from renamed
    where order_line_id is not null
    {{ c360_latest_version('order_line_id', 'updated_at') }}
),

final as (
    select
        *,
        cast(quantity * unit_price - discount_amount as decimal(18, 2)) as line_amount,
        -- the discount is spread over the units: a returned unit refunds what was paid for it
        cast(
            case when quantity > 0 then returned_quantity * (quantity * unit_price - discount_amount) / quantity else 0 end
            as decimal(18, 2)
        ) as returned_amount
    from latest
)

select * from final
