{#- When each person record first shows up: account creation, newsletter opt-in, first ticket, first interaction. -#}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
),

sales_customers as (
    select * from {{ ref('stg_sales__customers') }}
),

contacts as (
    select * from {{ ref('stg_marketing__contacts') }}
),

sightings as (
    select source_system, source_record_id, occurred_at as seen_at
    from touchpoints
    union all
    select 'sales' as source_system, sales_customer_id as source_record_id, created_at as seen_at
    from sales_customers
    union all
    select 'marketing' as source_system, contact_id as source_record_id, coalesce(newsletter_subscribed_at, updated_at) as seen_at
    from contacts
),

final as (
    select
        source_system,
        source_record_id,
        min(seen_at) as first_seen_at
    from sightings
    where source_record_id is not null and seen_at is not null
    group by source_system, source_record_id
)

select * from final
