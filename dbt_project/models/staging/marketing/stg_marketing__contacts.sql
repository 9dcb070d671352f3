{#- Newsletter contacts: latest version per contact, typed; opt-in/opt-out times are Europe/Berlin local. -#}
with

source_rows as (
    select * from {{ c360_source_rows(source('marketing', 'contacts')) }}
),

renamed as (
    select
        {{ c360_text('kontakt_id') }} as contact_id,
        {{ c360_text('anrede') }} as salutation,
        {{ c360_text('titel') }} as title,
        {{ c360_text('vorname') }} as first_name,
        {{ c360_text('nachname') }} as last_name,
        nullif(lower(regexp_replace(cast(e_mail as varchar), '\s+', '', 'g')), '') as email,
        {{ c360_text('telefon') }} as phone,
        {{ c360_to_date('geburtsdatum') }} as date_of_birth,
        {{ c360_text('strasse') }} as street,
        {{ c360_text('plz') }} as postcode,
        {{ c360_text('ort') }} as city,
        {{ c360_to_boolean('newsletter') }} as is_newsletter_subscribed,
        {{ c360_local_timestamp('angemeldet_am') }} as newsletter_subscribed_at,
        {{ c360_local_timestamp('abgemeldet_am') }} as newsletter_unsubscribed_at,
        {{ c360_local_timestamp('letzte_aenderung') }} as updated_at,
        _c360_loaded_at as loaded_at,
        _c360_batch_id as batch_id,
        _c360_row_number as batch_row_number
    from source_rows
),

final as (
    select * from renamed
    where contact_id is not null
    {{ c360_latest_version('contact_id', 'updated_at') }}
)

select * from final
