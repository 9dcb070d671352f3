{#- dbt_utils is not installed (no package hub offline): rows for which a boolean SQL expression is not true. -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
