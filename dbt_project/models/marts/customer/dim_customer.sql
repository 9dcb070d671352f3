{#-
    The golden record: one row per active customer, each attribute group taken from one surviving record chosen by
    the survivorship rules (int_survivorship_rules: the project's `rules.survivorship` file, else the product's
    defaults; source trust, completeness, recency, frequency — in the order the rules say), with the source system
    it came from (`<attribute>_source`) and the record (`<group>_record_key`). Newsletter consent: the latest
    statement for the purpose `newsletter` over all the customer's records (int_customer_consent).
-#}
{{ config(**c360_incremental_by_customer()) }}
{%- set attribute_groups = {
    'name': {
        'attributes': {'first_name': 'first_name_std', 'last_name': 'last_name_std', 'full_name': 'full_name_std'},
        'present': 'first_name_std is not null or last_name_std is not null',
        'filled': ['first_name_std', 'last_name_std'],
        'match_key': "concat_ws('|', first_name_folded, last_name_folded)",
    },
    'email': {
        'attributes': {'email': 'email_std'},
        'present': 'email_std is not null',
        'filled': ['email_std'],
        'match_key': 'email_std',
    },
    'phone': {
        'attributes': {'phone_e164': 'phone_e164'},
        'present': 'phone_e164 is not null',
        'filled': ['phone_e164'],
        'match_key': 'phone_e164',
    },
    'date_of_birth': {
        'attributes': {'date_of_birth': 'date_of_birth'},
        'present': 'date_of_birth is not null',
        'filled': ['date_of_birth'],
        'match_key': 'cast(date_of_birth as varchar)',
    },
    'address': {
        'attributes': {'street': 'street_std', 'postcode': 'postcode', 'city': 'city_std', 'country_code': 'country_code'},
        'present': 'street_std is not null',
        'filled': ['street_std', 'postcode', 'city_std'],
        'match_key': "concat_ws('|', street_folded, postcode)",
    },
} -%}
{%- set consent_purposes = ['newsletter'] -%}
{%- set ranking_depth = 4 -%}

with

identity_map as (
    select * from {{ ref('stg_entity_resolution__identity_map') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

resolved_customers as (
    select * from {{ ref('stg_entity_resolution__customers') }}
    where {{ c360_in_marts_scope('customer_id') }}
),

identity_records as (
    select * from {{ ref('int_identity_records') }}
),

survivorship_rules as (
    select * from {{ ref('int_survivorship_rules') }}
),

-- per purpose, the latest act over every channel
customer_consent as (
    select *
    from {{ ref('int_customer_consent') }}
    qualify row_number() over (partition by customer_id, purpose {{ c360_consent_precedence() }}) = 1
),

-- the latest statement about profiling (or any purpose) on every channel: an opt-out is an objection (Art. 21)
profiling_consent as (
    select customer_id, consent_status
    from {{ ref('int_customer_consent') }}
    where purpose in ('profiling', 'any') and consent_channel = 'any'
    qualify row_number() over (partition by customer_id {{ c360_consent_precedence() }}) = 1
),

restricted_customers as (
    select distinct customer_id
    from {{ ref('int_customer_privacy_requests') }}
    where kind = 'restriction'
),

records_first_seen as (
    select * from {{ ref('int_source_records_first_seen') }}
),

active_customers as (
    select customer_id
    from resolved_customers
    where customer_status = 'active'
),

customer_records as (
    select
        identity_map.customer_id,
        identity_records.*
    from identity_map
    inner join active_customers on active_customers.customer_id = identity_map.customer_id
    inner join identity_records on identity_records.record_key = identity_map.record_key
),

-- one candidate per (customer, attribute group, record that has a value for the group)
candidates as (
    {%- for group, spec in attribute_groups.items() %}
    select
        customer_id,
        '{{ group }}' as attribute_group,
        record_key,
        source_system,
        updated_at,
        {{ spec.match_key }} as match_key,
        {% for column in spec.filled -%}
        cast({{ column }} is not null as integer){% if not loop.last %} + {% endif %}
        {%- endfor %} as filled_attributes
    from customer_records
    where {{ spec.present }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

candidates_scored as (
    select
        candidates.*,
        count(*) over (partition by candidates.customer_id, candidates.attribute_group, candidates.match_key)
            as frequency,
        coalesce(
            nullif(list_position(string_split(nullif(survivorship_rules.source_trust, ''), '|'), candidates.source_system), 0),
            1000
        ) as trust_rank,
        string_split(coalesce(nullif(survivorship_rules.ranking, ''), 'trust|recency|frequency'), '|') as ranking
    from candidates
    left join survivorship_rules on survivorship_rules.attribute_group = candidates.attribute_group
),

-- the seed's ranking criteria, in its order, as sort keys where lower is better
candidates_ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, attribute_group
            order by
                {%- for position in range(1, ranking_depth + 1) %}
                case ranking[{{ position }}]
                    when 'trust' then cast(trust_rank as double)
                    when 'completeness' then -cast(filled_attributes as double)
                    when 'recency' then -coalesce(epoch(updated_at), -1e15)
                    when 'frequency' then -cast(frequency as double)
                end nulls last,
                {%- endfor %}
                record_key
        ) as survivor_rank
    from candidates_scored
),

survivors as (
    select customer_id, attribute_group, record_key, source_system
    from candidates_ranked
    where survivor_rank = 1
),

record_summary as (
    select
        customer_id,
        count(*) as source_record_count,
        list_sort(list_distinct(list(source_system))) as source_systems,
        max(updated_at) as last_updated_at,
        min(loaded_at) as first_loaded_at
    from customer_records
    group by customer_id
),

customer_first_seen as (
    select
        identity_map.customer_id,
        min(records_first_seen.first_seen_at) as first_seen_at
    from identity_map
    inner join records_first_seen
        on records_first_seen.source_system = identity_map.source_system
        and records_first_seen.source_record_id = identity_map.source_record_id
    group by identity_map.customer_id
),

final as (
    select
        active_customers.customer_id,
        {%- for group, spec in attribute_groups.items() %}
        {%- for attribute, column in spec.attributes.items() %}
        {{ group }}_record.{{ column }} as {{ attribute }},
        {%- endfor %}
        {%- endfor %}
        {%- for group, spec in attribute_groups.items() %}
        {%- for attribute in spec.attributes %}
        {{ group }}_survivor.source_system as {{ attribute }}_source,
        {%- endfor %}
        {%- endfor %}
        {%- for group in attribute_groups %}
        {{ group }}_survivor.record_key as {{ group }}_record_key,
        {%- endfor %}
        coalesce(record_summary.source_record_count, 0) as source_record_count,
        coalesce(record_summary.source_systems, cast([] as varchar[])) as source_systems,
        {%- for name in consent_purposes %}
        coalesce({{ name }}_consent.consent_status = 'opted_in', false) as is_{{ name }}_subscribed,
        coalesce({{ name }}_consent.consent_status, 'none') as {{ name }}_consent_status,
        {{ name }}_consent.changed_at as {{ name }}_consent_changed_at,
        {{ name }}_consent.evidence_source as {{ name }}_consent_source,
        {%- endfor %}
        restricted_customers.customer_id is not null as is_processing_restricted,
        coalesce(profiling_consent.consent_status = 'opted_out', false) as objects_to_profiling,
        coalesce(customer_first_seen.first_seen_at, record_summary.first_loaded_at) as first_seen_at,
        record_summary.last_updated_at
    from active_customers
    {%- for group in attribute_groups %}
    left join survivors as {{ group }}_survivor
        on {{ group }}_survivor.customer_id = active_customers.customer_id
        and {{ group }}_survivor.attribute_group = '{{ group }}'
    left join identity_records as {{ group }}_record
        on {{ group }}_record.record_key = {{ group }}_survivor.record_key
    {%- endfor %}
    {%- for name in consent_purposes %}
    left join customer_consent as {{ name }}_consent
        on {{ name }}_consent.customer_id = active_customers.customer_id
        and {{ name }}_consent.purpose = '{{ name }}'
    {%- endfor %}
    left join restricted_customers on restricted_customers.customer_id = active_customers.customer_id
    left join profiling_consent on profiling_consent.customer_id = active_customers.customer_id
    left join record_summary on record_summary.customer_id = active_customers.customer_id
    left join customer_first_seen on customer_first_seen.customer_id = active_customers.customer_id
)

select * from final
