{#- One row per order line, with its order's customer. Keyed by customer like the product's marts, so it is
    written anew only for the customers a decision changed (customer360's incremental marts). -#}
{{ config(**c360_incremental_by_customer()) }}
with

order_lines as (
    select * from {{ ref('int_sales__order_lines') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

final as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        orders.customer_id,
        orders.order_number,
        orders.ordered_at,
        orders.order_date,
        order_lines.line_number,
        order_lines.sku,
        order_lines.product_name,
        order_lines.category,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_amount,
        order_lines.line_amount,
        order_lines.returned_quantity,
        order_lines.returned_amount,
        order_lines.updated_at
    from order_lines
    left join orders on orders.order_id = order_lines.order_id
    where {{ c360_in_marts_scope('orders.customer_id') }}
)

select * from final
