{#- Why records are one customer: per accepted link, each comparison's level and match weight. -#}
{{ config(**c360_incremental_by_customer()) }}
with

evidence as (
    select * from {{ ref('stg_entity_resolution__match_evidence') }}
),

final as (
    select * from evidence
    where {{ c360_in_marts_scope('customer_id') }}
)

select * from final
