{#-
    One row per order line with its order and the shop account (the identity record) that placed it. A table,
    built once per delivery: fct_order_lines and int_sales__orders_with_lines read it instead of re-reading every
    delivered version of every line. Its `source_system` and `source_record_id` say whose each line is, so that a
    delivery of order lines rebuilds the marts of the customers whose lines changed, not of every customer
    (customer360/marts_scope.py).
-#}
with

order_lines as (
    select * from {{ ref('stg_sales__order_lines') }}
),

orders as (
    select * from {{ ref('stg_sales__orders') }}
),

final as (
    select
        order_lines.*,
        orders.order_number,
        orders.ordered_at,
        'sales' as source_system,
        orders.sales_customer_id as source_record_id
    from order_lines
    left join orders on orders.order_id = order_lines.order_id
)

select * from final
