{%- set name_pattern = '^(.+?)\\s+((?i:(?:von|van|de|der|den|zu|zum|zur|vom|di|da|del|le|la|ten|ter|al|el)\\s+)*\\S+)$' -%}
{#-
    One row per identity record (latest version of each source record), standardised for matching:
    names parsed and folded, e-mails cleaned, phones in E.164, dates parsed, junk values turned into NULL so
    that they can never link two people. Splink reads this table (entity_resolution/).
-#}

with

mapped_records as (
    select * from {{ ref('stg_identity__records') }}
),

nicknames as (
    select * from {{ ref('first_name_nicknames') }}
),

junk_values as (
    select * from {{ ref('junk_identity_values') }}
),

mobile_prefixes as (
    select * from {{ ref('mobile_phone_prefixes') }}
),

latest_versions as (
    select
        * exclude (reference_numbers),
        -- references accumulate over all versions and rows of a record (every ticket of a requester)
        list_sort(list_distinct(flatten(list(reference_numbers) over (partition by source_system, source_record_id))))
            as reference_numbers
    from mapped_records
    qualify row_number() over (
        partition by source_system, source_record_id
        order by updated_at desc nulls last, loaded_at desc, batch_id desc, batch_row_number desc
    ) = 1
),

cleaned as (
    select
        source_system,
        source_record_id,
        {{ c360_strip_titles(c360_clean_text('first_name')) }} as first_name_clean,
        {{ c360_clean_text('last_name') }} as last_name_clean,
        -- helpdesks often fill the name from the e-mail address: "christian.ostke83" is Christian Ostke
        {{ c360_strip_titles(c360_clean_text(
            "regexp_replace(regexp_replace(split_part(full_name, '@', 1), '[._]+', ' ', 'g'), '[0-9]+', '', 'g')"
        )) }} as full_name_clean,
        lower(regexp_replace(email, '\s+', '', 'g')) as email_clean,
        {{ c360_phone_digits('phone') }} as phone_digits,
        date_of_birth,
        nullif(trim(date_of_birth_text), '') as date_of_birth_text,
        {{ c360_clean_text('street') }} as street_clean,
        regexp_replace(postcode, '[^0-9]', '', 'g') as postcode_digits,
        {{ c360_clean_text('postcode') }} as postcode_clean,
        {{ c360_clean_text('city') }} as city_clean,
        coalesce({{ c360_country_code('country') }}, '{{ var('c360_default_country', 'DE') }}') as country_code,
        nullif(list_filter(reference_numbers, reference -> nullif(trim(reference), '') is not null), []) as reference_numbers,
        updated_at,
        created_at,
        loaded_at,
        batch_id
    from latest_versions
),

-- "Müller, Anna" / "Anna Müller" / "Anna von Berg" / "A. Müller": split one name string when no parts exist.
-- A name particle (von, van, de, ...) belongs to the last name; it must stand on its own ("Alexander" keeps "der").
names_parsed as (
    select
        *,
        case
            when first_name_clean is not null or last_name_clean is not null then first_name_clean
            when full_name_clean like '%,%' then nullif(trim(split_part(full_name_clean, ',', 2)), '')
            else nullif(trim(regexp_extract(full_name_clean, '{{ name_pattern }}', 1)), '')
        end as first_name_parsed,
        case
            when first_name_clean is not null or last_name_clean is not null then last_name_clean
            when full_name_clean like '%,%' then nullif(trim(split_part(full_name_clean, ',', 1)), '')
            else nullif(trim(regexp_extract(full_name_clean, '{{ name_pattern }}', 2)), '')
        end as last_name_parsed,
        -- one word only ("Tanja", "Müller"): first or last name is decided below from how the word is used elsewhere
        first_name_clean is null and last_name_clean is null
            and full_name_clean is not null and not contains(full_name_clean, ' ') and not contains(full_name_clean, ',')
            as is_single_word_name
    from cleaned
),

names_with_single_word as (
    select
        *,
        case when is_single_word_name then {{ c360_loosen(c360_fold_name('full_name_clean')) }} end as single_word
    from names_parsed
),

-- how often each (loosely folded) word appears as a first name or as a last name in records that have both fields
name_word_roles as (
    select
        {{ c360_loosen(c360_fold_name("split_part(first_name_clean, ' ', 1)")) }} as word,
        count(*) as as_first_name,
        0 as as_last_name
    from cleaned
    where first_name_clean is not null and last_name_clean is not null
    group by 1
    union all
    select {{ c360_loosen(c360_fold_name('last_name_clean')) }}, 0, count(*)
    from cleaned
    where first_name_clean is not null and last_name_clean is not null
    group by 1
),

name_word_role as (
    select word, sum(as_first_name) > sum(as_last_name) as is_first_name
    from name_word_roles
    where word is not null
    group by word
),

single_words_placed as (
    select
        names_parsed.* exclude (first_name_parsed, last_name_parsed, single_word),
        case
            when is_single_word_name and coalesce(role.is_first_name, false) then full_name_clean
            when is_single_word_name then null
            else first_name_parsed
        end as first_name_parsed,
        case
            when is_single_word_name and coalesce(role.is_first_name, false) then null
            when is_single_word_name then full_name_clean
            else last_name_parsed
        end as last_name_parsed
    from names_with_single_word as names_parsed
    left join name_word_role as role on role.word = names_parsed.single_word
),

folded as (
    select
        *,
        {{ c360_fold_name('first_name_parsed') }} as first_name_folded,
        {{ c360_fold_name('last_name_parsed') }} as last_name_folded,
        split_part(email_clean, '@', 1) as email_local_part,
        split_part(email_clean, '@', 2) as email_domain_part,
        case
            when phone_digits like '+%' then substr(regexp_replace(phone_digits, '[^0-9]', '', 'g'), 1)
            when phone_digits like '00%' then substr(regexp_replace(phone_digits, '[^0-9]', '', 'g'), 3)
            when phone_digits like '0%' then {{ c360_country_calling_code('country_code') }}
                || substr(regexp_replace(phone_digits, '[^0-9]', '', 'g'), 2)
        end as phone_international_digits,
        {{ c360_fold_address('street_clean') }} as street_folded,
        {{ c360_fold_name('city_clean') }} as city_folded
    from single_words_placed
),

junk_checked as (
    select
        folded.*,
        first_name_folded in (select value from junk_values where field = 'name') as is_junk_first_name,
        last_name_folded in (select value from junk_values where field = 'name') as is_junk_last_name,
        not regexp_full_match(coalesce(email_clean, ''), '[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}')
            or email_clean in (select value from junk_values where field = 'email')
            or email_local_part in (select value from junk_values where field = 'email_local')
            or email_domain_part in (select value from junk_values where field = 'email_domain')
            -- placeholders typed to get past a form: xxx@xxx.de, a@aaa.com
            or replace(email_local_part, left(email_local_part, 1), '') = ''
            or replace(split_part(email_domain_part, '.', 1), left(email_domain_part, 1), '') = ''
            as is_junk_email,
        -- national significant number: after the calling code (1-3 digits for the countries we place)
        coalesce(
            length(phone_international_digits) not between 9 and 15
            or regexp_replace(substr(phone_international_digits, 3), substr(phone_international_digits, 3, 1), '', 'g') = ''
            or substr(phone_international_digits, 3) in (select value from junk_values where field = 'phone')
            or ltrim(substr(phone_international_digits, 3), '0') in (select value from junk_values where field = 'phone'),
            true
        ) as is_junk_phone,
        date_of_birth < date '1900-01-02'
            or date_of_birth > coalesce(cast(updated_at as date), cast(loaded_at as date))
            as is_junk_date_of_birth
    from folded
),

standardised as (
    select
        source_system || ':' || source_record_id as record_key,
        source_system,
        source_record_id,

        case when not is_junk_first_name then first_name_parsed end as first_name_std,
        case when not is_junk_last_name then last_name_parsed end as last_name_std,
        case when not is_junk_first_name then first_name_folded end as first_name_folded,
        case when not is_junk_last_name then last_name_folded end as last_name_folded,
        case when not is_junk_last_name then {{ c360_loosen('last_name_folded') }} end as last_name_loose,
        case when not is_junk_first_name then {{ c360_loosen('first_name_folded') }} end as first_name_loose,
        case when not is_junk_first_name then {{ c360_loosen("split_part(first_name_folded, ' ', 1)") }} end
            as first_name_first_word_loose,

        case when not is_junk_email then email_clean end as email_std,
        case when not is_junk_email then email_local_part end as email_local_part,
        case when not is_junk_email then email_domain_part end as email_domain,
        case when not is_junk_phone then '+' || phone_international_digits end as phone_e164,
        case when not coalesce(is_junk_date_of_birth, true) then date_of_birth end as date_of_birth,

        street_folded,
        nullif(trim(regexp_extract(street_folded, '^(.*?)\s*([0-9]+\s*[a-z]?)?$', 1)), '') as street_name_folded,
        nullif(replace(regexp_extract(street_folded, '^(.*?)\s*([0-9]+\s*[a-z]?)?$', 2), ' ', ''), '') as house_number,
        case
            when country_code = 'DE' then case when length(postcode_digits) = 5 then postcode_digits end
            when country_code in ('AT', 'CH') then case when length(postcode_digits) = 4 then postcode_digits end
            else nullif(upper(regexp_replace(postcode_clean, '\s+', '', 'g')), '')
        end as postcode,
        city_clean as city_std,
        city_folded,
        country_code,
        street_clean as street_std,
        reference_numbers,
        -- what standardisation blanked, as field:rule (counted per run: `c360 run`, meta.runs)
        list_filter([
            case when is_junk_first_name then 'first_name:placeholder' end,
            case when is_junk_last_name then 'last_name:placeholder' end,
            case when email_clean is not null and is_junk_email then 'email:malformed_or_placeholder' end,
            case when phone_digits is not null and is_junk_phone then 'phone:unplaceable_or_placeholder' end,
            case when date_of_birth_text is not null and date_of_birth is null then 'date_of_birth:unparsed' end,
            case when coalesce(is_junk_date_of_birth, false) then 'date_of_birth:implausible' end,
            case when postcode_clean is not null and (
                (country_code = 'DE' and length(postcode_digits) <> 5)
                or (country_code in ('AT', 'CH') and length(postcode_digits) <> 4)
            ) then 'postcode:malformed' end
        ], blanked -> blanked is not null) as blanked_values,

        updated_at,
        created_at,
        loaded_at,
        batch_id
    from junk_checked
),

with_canonical_names as (
    select
        standardised.*,
        coalesce(nicknames.canonical, standardised.first_name_first_word_loose) as first_name_canonical,
        left(standardised.first_name_folded, 1) as first_initial,
        trim(concat_ws(' ', standardised.first_name_std, standardised.last_name_std)) as full_name_std
    from standardised
    left join nicknames on nicknames.nickname = standardised.first_name_first_word_loose
),

-- a mobile number is one person's, a landline a household's (seed mobile_phone_prefixes); null: a country whose
-- numbers do not tell. E.164 calling codes are prefix-free, so a prefix match is unambiguous.
phone_kinds as (
    select
        *,
        case
            when phone_e164 is null then null
            when list_has_any(
                [left(phone_e164, 4), left(phone_e164, 5), left(phone_e164, 6), left(phone_e164, 7)],
                (select list('+' || prefix) from mobile_prefixes)) then true
            when list_has_any(
                [left(phone_e164, 2), left(phone_e164, 3), left(phone_e164, 4)],
                (select list(distinct '+' || calling_code) from mobile_prefixes)) then false
        end as phone_is_mobile
    from with_canonical_names
),

-- Whose e-mail address is it? Its name part often names its owner (imkepatberg81, karge.viktoria, l.zimmermann); a
-- family address (familie.hahn) does not. A shared address that names both records' person is strong evidence
-- of one person; one that names only one of them is what a household shares.
email_owners as (
    select
        *,
        nullif(regexp_replace(email_local_part, '[^a-z]+', '', 'g'), '') as email_local_letters,
        split_part(first_name_folded, ' ', 1) as first_name_first_token,
        replace(last_name_folded, ' ', '') as last_name_letters
    from phone_kinds
),

final as (
    select
        * exclude (first_name_first_token, last_name_letters),
        -- true: the address names this record's person; false: it does not (or it is a family's); null: the
        -- record lacks the name parts to tell (no last name to check l.zimmermann against)
        case
            when email_local_letters is null then null
            when email_local_letters like '%famil%' or email_local_letters like 'fam%' then false
            when length(first_name_first_token) >= 3 and contains(email_local_letters, first_name_first_token) then true
            when first_initial is null or coalesce(length(last_name_letters), 0) < 3 then null
            -- the initial begins what stands before the last name (l.zimmermann, imkepatberg for "I Patberg"), or
            -- is all that follows it (zimmermann.l); a last name alone, or with other letters, names nobody
            when starts_with(split_part(email_local_letters, last_name_letters, 1), first_initial)
                and contains(email_local_letters, last_name_letters) then true
            when email_local_letters = last_name_letters || first_initial then true
            else false
        end as email_names_person,
        -- the initials of every first name (hans peter, hans-peter, h.-p. → hp)
        nullif(list_aggregate(list_transform(string_split(first_name_folded, ' '), token -> left(token, 1)), 'string_agg', ''), '')
            as first_initials,
        -- changes whenever anything matching looks at changes: incremental resolution re-scores such records
        md5(concat_ws('|',
            first_name_folded, last_name_folded, first_name_canonical, email_std, phone_e164,
            cast(phone_is_mobile as varchar), cast(date_of_birth as varchar), street_folded, postcode, city_folded, country_code,
            array_to_string(reference_numbers, ',')
        )) as record_fingerprint
    from email_owners
)

select * from final
