{{ config(severity='warn') }}
{#-
    Identity QA: two different customers sharing a strong identifier (e-mail address, phone number) are either
    one person split in two (a missed merge), legitimately two people (a family e-mail address, a household
    landline, twins), or a junk value nobody filtered (xxx@xxx.de). Pairs a human has decided are different
    people (entity_resolution.decisions, by any of their records) are accepted. One row per shared identifier.
    Severity warn: see tests/_tests.yml.
-#}
{%- set decisions = adapter.get_relation(database=target.database, schema='entity_resolution', identifier='decisions') if execute else none -%}
with

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

decisions as (
    {%- if decisions %}
    select record_key_l, record_key_r, decision from {{ decisions }}
    {%- else %}
    select cast(null as varchar) as record_key_l, cast(null as varchar) as record_key_r, cast(null as varchar) as decision
    where false
    {%- endif %}
),

identifiers as (
    select 'email' as identifier_type, identity_records.email_std as identifier, identity_map.customer_id
    from identity_map
    inner join identity_records on identity_records.record_key = identity_map.record_key
    where identity_records.email_std is not null
    union
    select 'phone', identity_records.phone_e164, identity_map.customer_id
    from identity_map
    inner join identity_records on identity_records.record_key = identity_map.record_key
    where identity_records.phone_e164 is not null
),

shared as (
    select
        left_side.identifier_type,
        left_side.identifier,
        left_side.customer_id as customer_id_a,
        right_side.customer_id as customer_id_b
    from identifiers as left_side
    inner join identifiers as right_side
        on right_side.identifier_type = left_side.identifier_type
        and right_side.identifier = left_side.identifier
        and right_side.customer_id > left_side.customer_id
),

decided_different as (
    select distinct
        least(map_l.customer_id, map_r.customer_id) as customer_id_a,
        greatest(map_l.customer_id, map_r.customer_id) as customer_id_b
    from decisions
    inner join identity_map as map_l on map_l.record_key = decisions.record_key_l
    inner join identity_map as map_r on map_r.record_key = decisions.record_key_r
    where decisions.decision = 'different'
),

undecided as (
    select shared.*
    from shared
    left join decided_different
        on decided_different.customer_id_a = shared.customer_id_a
        and decided_different.customer_id_b = shared.customer_id_b
    where decided_different.customer_id_a is null
),

involved as (
    select identifier_type, identifier, customer_id_a as customer_id from undecided
    union
    select identifier_type, identifier, customer_id_b from undecided
)

-- one row per shared identifier, with the customers that share it (a very common one is often a junk value)
select
    identifier_type,
    identifier,
    count(*) as customers,
    list(customer_id order by customer_id) as customer_ids
from involved
group by identifier_type, identifier
