{#-
    Standardisation of identity attributes, as SQL expressions. Each macro takes a SQL expression and returns
    one; they are used by int_identity_records and, for search keys, by the marts. Forms:
      *_std     cleaned for display (Unicode NFC, trimmed, single spaces)
      *_folded  lower case, German umlauts transliterated (ä→ae, ß→ss), letters without a decomposition mapped
                (ł→l, ı→i, đ→d), other accents stripped, letters only
      *_loose   folded, then ae/oe/ue→a/o/u and ss→s, so Müller, Mueller and Muller meet
-#}

{% macro c360_clean_text(expression) -%}
    nullif(trim(regexp_replace(nfc_normalize(cast({{ expression }} as varchar)), '\s+', ' ', 'g')), '')
{%- endmacro %}

{% macro c360_transliterate(expression) -%}
    strip_accents(
        replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
            lower(nfc_normalize(cast({{ expression }} as varchar))),
            'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss'), 'æ', 'ae'), 'ø', 'oe'), 'ł', 'l'), 'ı', 'i'), 'đ', 'd'),
            'œ', 'oe'), 'ð', 'd')
    )
{%- endmacro %}

{# Letters only (digits dropped), words separated by one space. #}
{% macro c360_fold_name(expression) -%}
    nullif(trim(regexp_replace(regexp_replace({{ c360_transliterate(expression) }}, '[^a-z]+', ' ', 'g'), '\s+', ' ', 'g')), '')
{%- endmacro %}

{% macro c360_loosen(folded_expression) -%}
    replace(replace(replace(replace({{ folded_expression }}, 'ae', 'a'), 'oe', 'o'), 'ue', 'u'), 'ss', 's')
{%- endmacro %}

{# Letters and digits, words separated by one space; street suffixes unified (Hauptstraße, Hauptstr. → hauptstr). #}
{% macro c360_fold_address(expression) -%}
    nullif(trim(regexp_replace(regexp_replace(regexp_replace(
        {{ c360_transliterate(expression) }},
        '[^a-z0-9]+', ' ', 'g'),
        '(strasse|str)( |$)', 'str\2', 'g'),
        '\s+', ' ', 'g')), '')
{%- endmacro %}

{# Titles and salutations that prefix names: removed before parsing (Dr., Prof. Dr., Herr, Frau, Dipl.-Ing.). #}
{% macro c360_strip_titles(expression) -%}
    nullif(trim(regexp_replace(
        {{ expression }},
        '^((dr|prof|dipl|ing|herr|frau|hr|fr|mr|mrs|ms|med|rer|nat|phil|jur|mag)\.?(-|\s)+)+',
        '', 'i')), '')
{%- endmacro %}

{# The international calling code of a country (ISO alpha-2); NULL for a country not listed here. #}
{% macro c360_country_calling_code(country_expression) -%}
    case upper(coalesce({{ country_expression }}, '{{ var('c360_default_country', 'DE') }}'))
        when 'DE' then '49' when 'AT' then '43' when 'CH' then '41' when 'LI' then '423' when 'LU' then '352'
        when 'NL' then '31' when 'BE' then '32' when 'FR' then '33' when 'IT' then '39' when 'ES' then '34'
        when 'PT' then '351' when 'DK' then '45' when 'SE' then '46' when 'NO' then '47' when 'FI' then '358'
        when 'PL' then '48' when 'CZ' then '420' when 'SK' then '421' when 'HU' then '36' when 'SI' then '386'
        when 'HR' then '385' when 'IE' then '353' when 'GB' then '44' when 'US' then '1' when 'CA' then '1'
        when 'AU' then '61' when 'NZ' then '64' when 'TR' then '90' when 'GR' then '30' when 'RO' then '40'
    end
{%- endmacro %}

{% macro c360_phone_digits(phone_expression) -%}
    regexp_replace(replace(cast({{ phone_expression }} as varchar), '(0)', ''), '[^0-9+]', '', 'g')
{%- endmacro %}

{# Country names and codes as sources write them → ISO 3166 alpha-2. #}
{% macro c360_country_code(expression) -%}
    case
        when {{ expression }} is null then null
        when {{ c360_fold_name(expression) }} in ('de', 'd', 'deu', 'deutschland', 'germany', 'bundesrepublik deutschland') then 'DE'
        when {{ c360_fold_name(expression) }} in ('at', 'a', 'aut', 'oesterreich', 'austria') then 'AT'
        when {{ c360_fold_name(expression) }} in ('ch', 'che', 'schweiz', 'switzerland', 'suisse', 'svizzera') then 'CH'
        when {{ c360_fold_name(expression) }} in ('nl', 'nld', 'nederland', 'netherlands', 'niederlande', 'holland') then 'NL'
        when {{ c360_fold_name(expression) }} in ('be', 'bel', 'belgie', 'belgique', 'belgium', 'belgien') then 'BE'
        when {{ c360_fold_name(expression) }} in ('fr', 'fra', 'france', 'frankreich') then 'FR'
        when {{ c360_fold_name(expression) }} in ('it', 'ita', 'italia', 'italy', 'italien') then 'IT'
        when {{ c360_fold_name(expression) }} in ('gb', 'uk', 'gbr', 'united kingdom', 'great britain', 'england', 'grossbritannien') then 'GB'
        when {{ c360_fold_name(expression) }} in ('us', 'usa', 'united states', 'united states of america') then 'US'
        when length(trim({{ expression }})) = 2 then upper(trim({{ expression }}))
    end
{%- endmacro %}
