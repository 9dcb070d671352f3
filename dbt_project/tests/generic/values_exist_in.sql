{#-
    Every value of a low-cardinality column exists in another relation's column (e.g. a `<attribute>_source`
    names a configured source system). Unlike `relationships`, it compares against the distinct values, so a
    million rows pointing at three values do not become a million-by-half-a-million join.
-#}
{% test values_exist_in(model, column_name, to, field) %}
    select {{ column_name }} as unknown_value, count(*) as occurrences
    from {{ model }}
    where {{ column_name }} is not null
      and {{ column_name }} not in (select distinct {{ field }} from {{ to }} where {{ field }} is not null)
    group by 1
{% endtest %}
