{#
    Which of several consent acts counts (docs/privacy.md): the latest; an opt-out wins a tie, since acting on a
    withdrawn consent harms the person and waiting for a clear opt-in does not. `prefix` qualifies the columns.
#}
{% macro c360_consent_precedence(prefix='') -%}
    order by
        {{ prefix }}changed_at desc nulls last,
        case {{ prefix }}consent_status when 'opted_out' then 0 else 1 end,
        {{ prefix }}consent_event_id desc
{%- endmacro %}
