{#- Identity QA: every standardised source record belongs to exactly one active customer. -#}
with

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

customer_ids as (
    select * from {{ ref('customer_ids') }}
),

assignments as (
    select
        identity_records.record_key,
        count(identity_map.customer_id) as customers,
        count(customer_ids.customer_id) filter (where customer_ids.status = 'active') as active_customers
    from identity_records
    left join identity_map on identity_map.record_key = identity_records.record_key
    left join customer_ids on customer_ids.customer_id = identity_map.customer_id
    group by identity_records.record_key
)

select *
from assignments
where customers != 1 or active_customers != 1
