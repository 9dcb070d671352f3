{#-
    One row: the reference time ("now") of every time window in the marts. Deterministic for a warehouse state:
    the end of the day (c360_time_zone) of the latest interaction in the data, capped at the latest load (an
    interaction cannot happen after it was delivered, so a wrong future timestamp cannot move "now"). A whole day,
    not the latest second: every run of one day then shares one "now", so a delivery during the day changes the
    marts only of the customers whose data it changed (customer360/marts_scope.py), and a day's windows and "days
    since" hold for the whole day. With no interaction at all (a project with identity sources only) it is the
    run's start (environment variable C360_RUN_STARTED_AT, set by c360). The var `c360_as_of`, or else the
    environment variable C360_AS_OF, overrides it exactly (ISO 8601, e.g. 2026-06-30T00:00:00Z).
-#}
{%- set as_of = var('c360_as_of', none) or env_var('C360_AS_OF', '') -%}
{%- set run_started_at = env_var('C360_RUN_STARTED_AT', '') -%}
with

touchpoints as (
    select * from {{ ref('int_touchpoints_unioned') }}
),

data_bounds as (
    select
        max(greatest(occurred_at, last_activity_at)) as latest_interaction_at,
        max(loaded_at) as latest_loaded_at
    from touchpoints
),

final as (
    select
        {%- if as_of %}
        cast('{{ as_of }}' as timestamptz) as reference_at,
        'c360_as_of' as reference_basis,
        {%- else %}
        coalesce(
            {{ c360_end_of_local_day('least(latest_interaction_at, latest_loaded_at)') }},
            {{ "cast('" ~ run_started_at ~ "' as timestamptz)" if run_started_at else 'current_timestamp' }}
        ) as reference_at,
        case
            when latest_interaction_at is null then 'run start'
            when latest_interaction_at > latest_loaded_at then 'latest load'
            else 'latest interaction'
        end as reference_basis,
        {%- endif %}
        latest_interaction_at,
        latest_loaded_at
    from data_bounds
)

select * from final
