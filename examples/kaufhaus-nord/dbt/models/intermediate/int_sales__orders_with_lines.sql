{#-
    One row per shop order with what its lines say: how many lines and units, what was returned and refunded, and
    the net amount the customer kept and paid for. The `orders` touchpoint stream of customer360.yml reads this
    model: configuration cannot aggregate order lines, a project model can.
-#}
with

orders as (
    select * from {{ ref('stg_sales__orders') }}
),

order_lines as (
    select * from {{ ref('int_sales__order_lines') }}
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
        orders.*,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.item_quantity, 0) as item_quantity,
        coalesce(line_totals.returned_quantity, 0) as returned_quantity,
        coalesce(line_totals.returned_amount, 0) as returned_amount,
        -- what the customer kept and paid for: nothing for cancelled and fully returned orders
        cast(
            case
                when orders.status in ('cancelled', 'returned') then 0
                else greatest(orders.total_amount - coalesce(line_totals.returned_amount, 0), 0)
            end
            as decimal(18, 2)
        ) as net_amount,
        orders.status in ('returned', 'partially_returned') or coalesce(line_totals.returned_quantity, 0) > 0
            as is_returned
    from orders
    left join line_totals on line_totals.order_id = orders.order_id
)

select * from final
