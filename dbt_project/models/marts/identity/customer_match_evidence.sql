{#- Why records are one customer: per accepted link, each comparison's level and match weight. -#}
with

evidence as (
    select * from {{ ref('stg_entity_resolution__match_evidence') }}
),

final as (
    select * from evidence
)

select * from final
