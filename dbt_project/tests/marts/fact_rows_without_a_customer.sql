{{ config(severity='warn') }}
{#-
    Touchpoints (and so orders, tickets, marketing events) whose person record has no customer. It should not
    happen: every identity record is resolved. It can when the quality gate quarantined the person record (a shop
    account) but not its facts (its orders), when a `record_key` lookup found no record, or when the marts were
    rebuilt before resolution ran on new records. The rows stay with a null customer_id, so nothing is lost; this
    test lists them. Severity warn: see tests/_tests.yml.
-#}
select touchpoint_id, kind, stream, source_system, source_record_id
from {{ ref('fct_touchpoints') }}
where customer_id is null
