{#-
    Standardisation of identity attributes, as SQL expressions. Each macro takes a SQL expression and returns
    one; they are used by int_identity_records and, for search keys, by the marts. Forms:
      *_std     cleaned for display (Unicode NFC, trimmed, single spaces)
      *_folded  lower case, German umlauts transliterated (ä→ae, ß→ss), other accents stripped, letters only
      *_loose   folded, then ae/oe/ue→a/o/u and ss→s, so Müller, Mueller and Muller meet
-#}

{% macro c360_clean_text(expression) -%}
    nullif(trim(regexp_replace(nfc_normalize(cast({{ expression }} as varchar)), '\s+', ' ', 'g')), '')
{%- endmacro %}

{% macro c360_transliterate(expression) -%}
    strip_accents(
        replace(replace(replace(replace(replace(replace(replace(
            lower(nfc_normalize(cast({{ expression }} as varchar))),
            'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss'), 'æ', 'ae'), 'ø', 'oe'), 'ł', 'l')
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

{% macro c360_country_calling_code(country_expression) -%}
    case upper(coalesce({{ country_expression }}, 'DE')) when 'AT' then '43' when 'CH' then '41' else '49' end
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
        when {{ c360_fold_name(expression) }} in ('ch', 'che', 'schweiz', 'switzerland', 'suisse') then 'CH'
        when length(trim({{ expression }})) = 2 then upper(trim({{ expression }}))
    end
{%- endmacro %}
