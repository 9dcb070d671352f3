{#- One row per order, with the customer who placed it (via the shop account's identity record). -#}
with

orders as (
    select * from {{ ref('stg_sales__orders') }}
),

order_lines as (
    select * from {{ ref('stg_sales__order_lines') }}
),

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
),

line_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        sum(returned_quantity) as returned_quantity,
        sum(returned_amount) as returned_amount
    from order_lines
    group by order_id
),

final as (
    select
        orders.order_id,
        identity_map.customer_id,
        'sales' as source_system,
        orders.sales_customer_id as source_record_id,
        orders.order_number,
        orders.ordered_at,
        cast(timezone('Europe/Berlin', orders.ordered_at) as date) as order_date,
        orders.channel,
        orders.status,
        orders.payment_method,
        orders.total_amount,
        orders.currency,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.item_quantity, 0) as item_quantity,
        coalesce(line_totals.returned_quantity, 0) as returned_quantity,
        coalesce(line_totals.returned_amount, 0) as returned_amount,
        cast(
            case
                when orders.status in ('cancelled', 'returned') then 0
                else greatest(orders.total_amount - coalesce(line_totals.returned_amount, 0), 0)
            end
            as decimal(18, 2)
        ) as net_amount,
        orders.status = 'cancelled' as is_cancelled,
        orders.status in ('returned', 'partially_returned') or coalesce(line_totals.returned_quantity, 0) > 0
            as is_returned,
        orders.updated_at
    from orders
    left join line_totals on line_totals.order_id = orders.order_id
    left join identity_map
        on identity_map.source_system = 'sales'
        and identity_map.source_record_id = orders.sales_customer_id
)

select * from final
