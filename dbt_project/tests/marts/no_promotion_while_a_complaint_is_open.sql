{#- Contact policy across departments: nobody with an open complaint is offered a promotion. -#}
select
    next_best_action.customer_id,
    next_best_action.action_code
from {{ ref('next_best_action') }} as next_best_action
inner join {{ ref('customer_360') }} as customer_360
    on customer_360.customer_id = next_best_action.customer_id
where next_best_action.is_promotional and customer_360.has_open_complaint
