{#- Shop customer accounts: latest version per account, typed. Identity matching reads int_identity_records. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('sales', 'customers')) }}
),

renamed as (
    select
        {{ c360_text('customer_id') }} as sales_customer_id,
        {{ c360_text('customer_number') }} as customer_number,
        {{ c360_text('salutation') }} as salutation,
        {{ c360_text('title') }} as title,
        {{ c360_text('first_name') }} as first_name,
        {{ c360_text('last_name') }} as last_name,
        nullif(lower(regexp_replace(cast(email as varchar), '\s+', '', 'g')), '') as email,
        {{ c360_text('phone') }} as phone,
        {{ c360_text('mobile') }} as mobile,
        {{ c360_to_date('birth_date') }} as date_of_birth,
        {{ c360_text('street') }} as street,
        {{ c360_text('postcode') }} as postcode,
        {{ c360_text('city') }} as city,
        upper({{ c360_text('country_code') }}) as country_code,
        coalesce({{ c360_to_boolean('is_active') }}, true) as is_active,
        {{ c360_to_timestamp('created_at') }} as created_at,
        {{ c360_to_timestamp('updated_at') }} as updated_at,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

final as (
    select * from renamed
    where sales_customer_id is not null
    {{ c360_latest_version('sales_customer_id', 'updated_at') }}
)

select * from final
