{#- Identity QA: no customer holds more records than resolution.cluster_size_cap (var c360_cluster_size_cap). -#}
select
    customer_id,
    count(*) as records,
    {{ var('c360_cluster_size_cap', 25) }} as cluster_size_cap
from {{ ref('customer_identity_map') }}
group by customer_id
having count(*) > {{ var('c360_cluster_size_cap', 25) }}
