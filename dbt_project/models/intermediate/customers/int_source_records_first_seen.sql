{#- When each person record first shows up: its creation in the source (identity mapping `created_at`) or its
    first interaction on any touchpoint stream, whichever is earlier. -#}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
),

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

sightings as (
    select source_system, source_record_id, occurred_at as seen_at
    from touchpoints
    union all
    select source_system, source_record_id, created_at as seen_at
    from identity_records
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
