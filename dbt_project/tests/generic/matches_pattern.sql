{#- Every non-null value of the column matches a regular expression (the whole value). -#}
{% test matches_pattern(model, column_name, pattern) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
        and not regexp_full_match(cast({{ column_name }} as varchar), '{{ pattern }}')
{% endtest %}
