{{ config(severity='warn') }}
{#-
    Fact rows whose person record has no customer. It should not happen: every identity record is resolved.
    It can when the quality gate quarantined the person record (a shop account) but not its facts (its orders),
    or when the marts were rebuilt before resolution ran on new records. The rows stay in the facts with a null
    customer_id, so nothing is lost; this test lists them. Severity warn: see tests/_tests.yml.
-#}
select 'fct_orders' as fact, order_id as fact_id, source_system, source_record_id
from {{ ref('fct_orders') }}
where customer_id is null
union all
select 'fct_tickets', ticket_id, source_system, source_record_id
from {{ ref('fct_tickets') }}
where customer_id is null
union all
select 'fct_marketing_events', event_id, source_system, source_record_id
from {{ ref('fct_marketing_events') }}
where customer_id is null
union all
select 'fct_touchpoints', touchpoint_id, source_system, source_record_id
from {{ ref('fct_touchpoints') }}
where customer_id is null
