{#-
    One row per helpdesk ticket with what its comments say (how many, the first agent reply, the latest public
    comment) and the shop order it quotes. The `tickets` touchpoint stream of customer360.yml reads this model.
-#}
with

tickets as (
    select * from {{ ref('stg_service__tickets') }}
),

ticket_comments as (
    select * from {{ ref('stg_service__ticket_comments') }}
),

orders as (
    select * from {{ ref('stg_sales__orders') }}
),

comment_summary as (
    select
        ticket_id,
        count(*) as comment_count,
        count(*) filter (where author_role = 'agent') as agent_comment_count,
        count(*) filter (where author_role = 'end_user') as customer_comment_count,
        max(created_at) filter (where is_public) as last_public_comment_at,
        max(loaded_at) as last_comment_loaded_at
    from ticket_comments
    group by ticket_id
),

-- the first public agent reply after the ticket was opened
first_responses as (
    select
        tickets.ticket_id,
        min(ticket_comments.created_at) as first_response_at
    from tickets
    inner join ticket_comments
        on ticket_comments.ticket_id = tickets.ticket_id
        and ticket_comments.author_role = 'agent'
        and ticket_comments.is_public
        and ticket_comments.created_at > tickets.created_at
    group by tickets.ticket_id
),

order_numbers as (
    select order_number, min(order_id) as order_id
    from orders
    where order_number is not null
    group by order_number
),

final as (
    select
        tickets.* exclude (loaded_at),
        -- a new comment is new data about the ticket
        greatest(tickets.loaded_at, comment_summary.last_comment_loaded_at) as loaded_at,
        order_numbers.order_id,
        coalesce(comment_summary.comment_count, 0) as comment_count,
        coalesce(comment_summary.agent_comment_count, 0) as agent_comment_count,
        coalesce(comment_summary.customer_comment_count, 0) as customer_comment_count,
        comment_summary.last_public_comment_at,
        first_responses.first_response_at,
        round(date_diff('second', tickets.created_at, first_responses.first_response_at) / 3600.0, 2)
            as first_response_hours,
        round(date_diff('second', tickets.created_at, tickets.solved_at) / 3600.0, 2) as resolution_hours
    from tickets
    left join comment_summary on comment_summary.ticket_id = tickets.ticket_id
    left join first_responses on first_responses.ticket_id = tickets.ticket_id
    left join order_numbers on order_numbers.order_number = tickets.order_number
)

select * from final
