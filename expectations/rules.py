"""The quality rules of `customer360.yml` as expectations: each column's rules (`tables.<t>.columns`) and the
table's `freshness` (its `volume` settings are part of kit.volume_checks). One kit helper per rule; the rule
names are what quarantine and `c360 quarantine show --rule` show, so they are stable:

    columns.<c>.required: true       <c>_missing          row: no value (empty or a placeholder such as n/a)
                                     <c>_not_delivered    batch: the delivery lacks the column
    columns.<c>.type                 <c>_format           row: the value is not an integer, number, yes/no value,
                                                          date, timestamp, e-mail address, phone number, JSON
    columns.<c>.pattern              <c>_pattern          row: the value does not match the regular expression
    columns.<c>.allowed              <c>_not_allowed      row: the value is not one of the list
    columns.<c>.min / max            <c>_below_min / <c>_above_max
    columns.<c>.not_in_future        <c>_future           row: the date or time lies after the run (+1 day)
    columns.<c>.unique               <c>_duplicate        row: the value occurs twice in the delivery (every copy)
    columns.<c>.references           <c>_unknown          row: no row of the referenced raw table has the value
    freshness                        freshness            warn: the newest value is older than max_age_days

Rules are checked on the values that are given: empty values and placeholders never fail a rule other than
`required`. `on_fail` turns a rule into a warning or a batch-level rejection instead of quarantine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import great_expectations as gx

from customer360.core.config import ColumnRules, Freshness
from expectations import kit, values
from expectations.kit import SuiteContext

PARSED_TYPES = ("integer", "number", "boolean", "date", "timestamp")


def add_configured_rules(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    """Add the rules the table's configuration declares (nothing when it has none)."""
    table = ctx.table_config
    if table is None:
        return
    kit.declare_columns(suite, table.columns)
    parsed: dict[str, str] = {}
    for column, rules in table.columns.items():
        value = column_rules(suite, ctx, column, rules)
        if value is not None:
            parsed[column] = value
    if table.freshness is not None:
        freshness_rule(suite, ctx, table.freshness, table.columns, parsed)


def column_rules(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str, rules: ColumnRules) -> str | None:
    """One column's rules, in a fixed order; returns its parsed column (numbers, yes/no, dates, times) if any."""
    act = rules.action
    keep_zero = rules.type in ("integer", "number", "boolean")
    key = ctx.primary_key
    if rules.required and column not in key:  # a key column is checked as the primary key
        present = act("required")
        kit.presence_check(suite, ctx, column, action="block" if present == "quarantine" else present)
        kit.required_check(suite, ctx, column, keep_zero=keep_zero, action=act("required"))
    parsed = type_rule(suite, ctx, column, rules)
    if rules.pattern is not None:
        kit.pattern_check(suite, ctx, column, rules.pattern, action=act("pattern"))
    if rules.allowed is not None:
        typed = rules.type in ("integer", "number", "boolean") and parsed is not None
        allowed: list[Any] = list(rules.allowed) if typed else [values.as_text(v) for v in rules.allowed]
        if rules.type in ("integer", "number"):
            allowed = [float(v) for v in allowed]
        kit.allowed_check(suite, ctx, column, allowed, on=parsed if typed else None, action=act("allowed"))
    if parsed is not None and rules.type != "boolean":
        if (low := rules.bound("min")) is not None:
            kit.bound_check(suite, ctx, column, parsed, min_value=low, action=act("min"))
        if (high := rules.bound("max")) is not None:
            kit.bound_check(suite, ctx, column, parsed, max_value=high, action=act("max"))
        if rules.not_in_future:
            kit.future_check(suite, ctx, column, parsed, action=act("not_in_future"))
    if rules.unique and not (rules.unique is True and key == [column]):  # a one-column key is unique already
        within = rules.unique if isinstance(rules.unique, list) else []
        kit.unique_check(suite, ctx, column, within, keep_zero=keep_zero, action=act("unique"))
    if rules.references is not None:
        source, table, target = resolve_reference(ctx, rules.references)
        kit.reference_check(
            suite, ctx, column, table=table, key=target, source=source, keep_zero=keep_zero, action=act("references")
        )
    return parsed


def type_rule(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str, rules: ColumnRules) -> str | None:
    """`<column>_format` for the column's type; returns the parsed column for types that have one."""
    action = rules.action("type")
    kind = rules.type
    if kind in ("integer", "number"):
        return kit.number_check(suite, ctx, column, integer=kind == "integer", action=action)
    if kind == "boolean":
        return kit.boolean_check(suite, ctx, column, action=action)
    if kind == "date":
        return kit.date_check(suite, ctx, column, rules.formats, action=action)
    if kind == "timestamp":
        return kit.timestamp_check(suite, ctx, column, rules.formats, action=action)
    if kind == "email":
        kit.email_check(suite, ctx, column, action=action)
    elif kind == "phone":
        kit.phone_check(suite, ctx, column, action=action)
    elif kind == "json":
        kit.json_check(suite, ctx, column, action=action)
    return None


def freshness_rule(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    freshness: Freshness,
    columns: Mapping[str, ColumnRules],
    parsed: Mapping[str, str],
) -> None:
    """`freshness` (a warning): the newest value of the column is at most max_age_days old."""
    column = freshness.column
    rules = columns.get(column)
    typed = rules is not None and rules.type in ("date", "timestamp")
    if typed and not freshness.formats and column in parsed:
        target = parsed[column]
    else:
        formats = [*(rules.formats if rules is not None else []), *freshness.formats]
        kit.declare_columns(suite, [column])
        target = kit.derive(
            suite, f"{column}__fresh", values.parse_timestamp(column, formats, ctx.time_zone), shows=column
        )
    kit.freshness_check(suite, ctx, target, label=column, max_age_days=freshness.max_age_days)


def resolve_reference(ctx: SuiteContext, reference: str) -> tuple[str, str, str]:
    """`table.column` (this source) or `source.table.column` → (source, table, column); checked at load time."""
    parts = reference.split(".")
    if len(parts) == 2:
        return ctx.source, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError(f"{ctx.name}: reference {reference!r} is not table.column or source.table.column")
