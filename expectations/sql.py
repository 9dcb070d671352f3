"""Row-level expectations as SQL: the predicate that selects a row Great Expectations counts as unexpected.

GX validates a batch and counts unexpected rows; the warehouse selects those same rows, set-based, to
quarantine them. Both read the one definition, the `gxe.*` expectation in a suite module: this module
translates its type and keyword arguments (and its `row_condition`) into a DuckDB predicate with GX's
semantics (missing values are ignored except by the null checks; `unique` flags every copy; a pandas `!=`
condition keeps missing values). The runner cross-checks the SQL counts against GX's `unexpected_count` on
every batch.

An expectation type without a translation here cannot be a row-level (quarantine) rule; the suite kit refuses
it when the suite is built, so a mismatch is found by the tests, not in production.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import (
    AndCondition,
    ComparisonCondition,
    Condition,
    NullityCondition,
    OrCondition,
)

from customer360.core.warehouse import quote_identifier

VALUE_PREVIEW = 80  # characters of a value shown in a reason


class UnsupportedExpectation(ValueError):
    """The expectation has no SQL translation, so it cannot select rows to quarantine."""


def q(name: str) -> str:
    return quote_identifier(name)


def literal(value: Any) -> str:
    """A SQL literal for a Python value (strings that look like ISO timestamps stay strings: cast them)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"cast({literal(value.isoformat())} as timestamptz)"
    if isinstance(value, dt.date):
        return f"cast({literal(value.isoformat())} as date)"
    return "'" + str(value).replace("'", "''") + "'"


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def is_iso(value: Any) -> bool:
    """Whether a value is an ISO 8601 date or time as text (a date bound, not a number or a word)."""
    return isinstance(value, str) and bool(_ISO.match(value))


def bound(value: Any) -> str:
    """A min/max bound: numbers as numbers, ISO date strings as timestamptz (GX parses them the same way)."""
    if isinstance(value, str) and _ISO.match(value):
        return f"cast({literal(value)} as timestamptz)"
    return literal(value)


# -- row conditions ------------------------------------------------------------------------------------------


def condition_sql(condition: Any) -> str:
    """GX row_condition (Condition objects) → SQL, with pandas' semantics for missing values."""
    if condition is None:
        return "true"
    if isinstance(condition, str):
        raise UnsupportedExpectation(
            f"row_condition {condition!r} is a string: use gx Condition objects, e.g. Column('x') == 'y'"
        )
    if isinstance(condition, AndCondition):
        return "(" + " and ".join(condition_sql(c) for c in condition.conditions) + ")"
    if isinstance(condition, OrCondition):
        return "(" + " or ".join(condition_sql(c) for c in condition.conditions) + ")"
    if isinstance(condition, NullityCondition):
        return f"({q(condition.column.name)} is {'' if condition.is_null else 'not '}null)"
    if isinstance(condition, ComparisonCondition):
        column, operator, parameter = q(condition.column.name), str(condition.operator), condition.parameter
        if operator == "IN":
            return f"({column} in ({', '.join(literal(v) for v in parameter)}))"
        if operator == "NOT_IN":  # pandas: ~isin(...) keeps missing values
            return f"({column} is null or {column} not in ({', '.join(literal(v) for v in parameter)}))"
        if operator == "!=":  # pandas: NaN != x is true
            return f"({column} is distinct from {literal(parameter)})"
        sql_operator = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[operator]
        return f"coalesce({column} {sql_operator} {literal(parameter)}, false)"
    if isinstance(condition, Condition):
        raise UnsupportedExpectation(f"row_condition {condition!r} has no SQL translation")
    raise UnsupportedExpectation(f"row_condition of type {type(condition).__name__} has no SQL translation")


# -- predicates ----------------------------------------------------------------------------------------------


@dataclass
class Predicate:
    """`unexpected` is true for rows GX counts as unexpected; `windows` are helper columns it reads."""

    unexpected: str
    windows: dict[str, str] = field(default_factory=dict)
    # what a reason can say about the row: name -> SQL expression
    facts: dict[str, str] = field(default_factory=dict)


def expectation_type(expectation: Expectation) -> str:
    return str(expectation.expectation_type)


def columns_of(expectation: Expectation) -> list[str]:
    """The columns an expectation reads (its domain), row_condition columns included."""
    names: list[str] = []
    for key in ("column", "column_A", "column_B"):
        value = getattr(expectation, key, None)
        if isinstance(value, str):
            names.append(value)
    names.extend(getattr(expectation, "column_list", None) or [])
    names.extend(_condition_columns(getattr(expectation, "row_condition", None)))
    return list(dict.fromkeys(names))


def _condition_columns(condition: Any) -> list[str]:
    if isinstance(condition, AndCondition | OrCondition):
        return [name for c in condition.conditions for name in _condition_columns(c)]
    if isinstance(condition, NullityCondition | ComparisonCondition):
        return [condition.column.name]
    return []


def predicate(expectation: Expectation, slot: int) -> Predicate:
    """SQL selecting the rows this expectation counts as unexpected (slot: a unique helper-column suffix)."""
    kind = expectation_type(expectation)
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise UnsupportedExpectation(
            f"{kind} has no SQL translation, so it cannot quarantine rows; use it as a batch-level check "
            "(block/warn) or add a translation to expectations/sql.py "
            f"(supported: {', '.join(sorted(_BUILDERS))})"
        )
    condition = condition_sql(getattr(expectation, "row_condition", None))
    result = builder(expectation, slot, condition)
    if condition != "true":
        result.unexpected = f"({condition}) and ({result.unexpected})"
    return result


def _column(expectation: Expectation) -> str:
    return q(expectation.column)  # type: ignore[attr-defined]


def _not_null(e: Expectation, slot: int, condition: str) -> Predicate:
    return Predicate(f"{_column(e)} is null")


def _null(e: Expectation, slot: int, condition: str) -> Predicate:
    return Predicate(f"{_column(e)} is not null")


def _regex(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    return Predicate(f"{c} is not null and not regexp_matches(cast({c} as varchar), {literal(e.regex)})")  # type: ignore[attr-defined]


def _not_regex(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    return Predicate(f"{c} is not null and regexp_matches(cast({c} as varchar), {literal(e.regex)})")  # type: ignore[attr-defined]


def _regex_list(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    tests = [f"regexp_matches(cast({c} as varchar), {literal(r)})" for r in e.regex_list]  # type: ignore[attr-defined]
    joiner = " and " if getattr(e, "match_on", "any") == "all" else " or "
    return Predicate(f"{c} is not null and not ({joiner.join(tests)})")


def _in_set(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    values = list(e.value_set or [])  # type: ignore[attr-defined]
    if not values:
        return Predicate(f"{c} is not null")
    return Predicate(f"{c} is not null and {c} not in ({', '.join(literal(v) for v in values)})")


def _not_in_set(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    values = list(e.value_set or [])  # type: ignore[attr-defined]
    if not values:
        return Predicate("false")
    return Predicate(f"{c} is not null and {c} in ({', '.join(literal(v) for v in values)})")


def _between(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    low, high = e.min_value, e.max_value  # type: ignore[attr-defined]
    outside = []
    if low is not None:
        outside.append(f"{c} {'<=' if e.strict_min else '<'} {bound(low)}")  # type: ignore[attr-defined]
    if high is not None:
        outside.append(f"{c} {'>=' if e.strict_max else '>'} {bound(high)}")  # type: ignore[attr-defined]
    if not outside:
        raise UnsupportedExpectation("expect_column_values_to_be_between needs min_value or max_value")
    return Predicate(f"{c} is not null and ({' or '.join(outside)})")


def _lengths_between(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    length = f"length(cast({c} as varchar))"
    outside = []
    if e.min_value is not None:  # type: ignore[attr-defined]
        outside.append(f"{length} < {int(e.min_value)}")  # type: ignore[attr-defined]
    if e.max_value is not None:  # type: ignore[attr-defined]
        outside.append(f"{length} > {int(e.max_value)}")  # type: ignore[attr-defined]
    return Predicate(f"{c} is not null and ({' or '.join(outside) or 'false'})", facts={"length": length})


def _unique(e: Expectation, slot: int, condition: str) -> Predicate:
    c = _column(e)
    window = f"_c360_w{slot}"
    count = f"count(*) filter (where {condition} and {c} is not null) over (partition by {c})"
    return Predicate(f"{c} is not null and {window} > 1", windows={window: count}, facts={"count": window})


def _compound_unique(e: Expectation, slot: int, condition: str) -> Predicate:
    columns = [q(name) for name in e.column_list]  # type: ignore[attr-defined]
    ignore = getattr(e, "ignore_row_if", "all_values_are_missing")
    considered = {
        "all_values_are_missing": "not (" + " and ".join(f"{c} is null" for c in columns) + ")",
        "any_value_is_missing": " and ".join(f"{c} is not null" for c in columns),
    }.get(str(ignore), "true")
    window = f"_c360_w{slot}"
    count = f"count(*) filter (where {condition} and {considered}) over (partition by {', '.join(columns)})"
    return Predicate(f"{considered} and {window} > 1", windows={window: count}, facts={"count": window})


def _pair_greater(e: Expectation, slot: int, condition: str) -> Predicate:
    a, b = q(e.column_A), q(e.column_B)  # type: ignore[attr-defined]
    ignore = str(getattr(e, "ignore_row_if", "both_values_are_missing"))
    considered = {
        "both_values_are_missing": f"not ({a} is null and {b} is null)",
        "either_value_is_missing": f"{a} is not null and {b} is not null",
    }.get(ignore, "true")
    operator = ">=" if e.or_equal else ">"  # type: ignore[attr-defined]
    return Predicate(f"{considered} and not coalesce({a} {operator} {b}, false)")


def _pair_equal(e: Expectation, slot: int, condition: str) -> Predicate:
    a, b = q(e.column_A), q(e.column_B)  # type: ignore[attr-defined]
    ignore = str(getattr(e, "ignore_row_if", "both_values_are_missing"))
    considered = {
        "both_values_are_missing": f"not ({a} is null and {b} is null)",
        "either_value_is_missing": f"{a} is not null and {b} is not null",
    }.get(ignore, "true")
    return Predicate(f"{considered} and not coalesce({a} = {b}, false)")


_BUILDERS: dict[str, Callable[[Expectation, int, str], Predicate]] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_match_regex": _regex,
    "expect_column_values_to_not_match_regex": _not_regex,
    "expect_column_values_to_match_regex_list": _regex_list,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_not_be_in_set": _not_in_set,
    "expect_column_values_to_be_between": _between,
    "expect_column_value_lengths_to_be_between": _lengths_between,
    "expect_column_values_to_be_unique": _unique,
    "expect_compound_columns_to_be_unique": _compound_unique,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair_greater,
    "expect_column_pair_values_to_be_equal": _pair_equal,
}

SUPPORTED = frozenset(_BUILDERS)


# -- reasons -------------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def value_sql(column_sql: str) -> str:
    """How a reason quotes a value: 'text' (shortened), or `empty`."""
    text = f"cast({column_sql} as varchar)"
    cut = f"left({text}, {VALUE_PREVIEW - 1}) || '…'"
    shortened = f"case when length({text}) > {VALUE_PREVIEW} then {cut} else {text} end"
    return f"coalesce('''' || {shortened} || '''', 'empty')"


def default_reason(expectation: Expectation) -> str:
    """A reason template for an expectation: `{column}` and `{value}` are filled in per row."""
    kind = expectation_type(expectation)
    e: Any = expectation
    if kind == "expect_column_values_to_not_be_null":
        return "{column} is missing"
    if kind == "expect_column_values_to_be_null":
        return "{column} should be empty but is {value}"
    if kind == "expect_column_values_to_match_regex":
        return "{column} {value} does not match the pattern " + e.regex
    if kind == "expect_column_values_to_not_match_regex":
        return "{column} {value} matches the forbidden pattern " + e.regex
    if kind == "expect_column_values_to_be_in_set":
        return "{column} {value} is not one of " + ", ".join(map(str, e.value_set or []))
    if kind == "expect_column_values_to_not_be_in_set":
        return "{column} {value} is not allowed"
    if kind == "expect_column_values_to_be_between":
        return "{column} {value} is outside " + _range_text(e.min_value, e.max_value)
    if kind == "expect_column_value_lengths_to_be_between":
        return "{column} {value} has {length} characters, expected " + _range_text(e.min_value, e.max_value)
    if kind == "expect_column_values_to_be_unique":
        return "{column} {value} occurs {count} times in this batch"
    if kind == "expect_compound_columns_to_be_unique":
        return "the combination of " + ", ".join(e.column_list) + " occurs {count} times in this batch"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        return f"{e.column_A} must be {'at least' if e.or_equal else 'greater than'} {e.column_B}"
    if kind == "expect_column_pair_values_to_be_equal":
        return f"{e.column_A} and {e.column_B} differ"
    return "the row fails " + kind


def _range_text(low: Any, high: Any) -> str:
    def show(value: Any) -> str:
        return str(value)[:10] if isinstance(value, str) and _ISO.match(value) else str(value)

    if low is not None and high is not None:
        return f"{show(low)} … {show(high)}"
    return f"≥ {show(low)}" if low is not None else f"≤ {show(high)}"


def reason_sql(
    template: str, *, column: str | None, label: str | None, shown: str | None, facts: Mapping[str, str]
) -> str:
    """Turn a reason template into a SQL string expression.

    `{column}`: the label (the raw column a derived column stands for), `{value}`: the shown column's value,
    other `{name}`s: facts of the predicate (e.g. `{count}` for uniqueness).
    """
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(literal(template[position : match.start()]))
        name = match.group(1)
        if name == "column":
            parts.append(literal(label or column or "value"))
        elif name == "value":
            parts.append(value_sql(q(shown or column or "")) if (shown or column) else literal("?"))
        elif name in facts:
            parts.append(f"cast({facts[name]} as varchar)")
        else:
            parts.append(literal(match.group(0)))
        position = match.end()
    if position < len(template):
        parts.append(literal(template[position:]))
    return "(" + " || ".join(parts or ["''"]) + ")"
