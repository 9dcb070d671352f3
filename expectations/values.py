"""SQL for derived columns: a raw value as the quality rules read it (trimmed, placeholders as NULL) and parsed
into numbers, yes/no values, dates and times; JSON fields; phone digits; reference lookups.

`parse_*(column)` read a raw column (or an `Sql` expression) and apply `given` first; `*_of(value)` read a value
that is given already, e.g. an earlier stage's `<column>__given` (expectations/kit.py derives both).
Character classes are spelled out ([0-9], not \\d) so that Python's re (GX) and RE2 (DuckDB) agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from customer360.core.warehouse import quote_identifier
from expectations import sql

# Values people type when they have nothing to type: treated as "not given", never as a format error.
PLACEHOLDERS = (
    "",
    "-",
    "--",
    "?",
    ".",
    "0",
    "n/a",
    "na",
    "n.a.",
    "k.a.",
    "k. a.",
    "keine",
    "keine angabe",
    "unbekannt",
    "unknown",
    "none",
    "null",
    "nil",
    "leer",
)
# ... except that in numbers and yes/no values 0 is a value
VALUE_PLACEHOLDERS = tuple(p for p in PLACEHOLDERS if p != "0")
TRUE_VALUES = ("true", "t", "yes", "y", "1", "ja", "j", "wahr")
FALSE_VALUES = ("false", "f", "no", "n", "0", "nein", "falsch")

# a time given with its offset (`…10:00Z`, `…10:00:00+01:00`): read as given; any other is read in the time zone
_OFFSET = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?\s*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"


class Sql(str):
    """A SQL expression, for the helpers below that otherwise take a column name: given(Sql("a ->> 'b'"))."""


def q(name: str) -> str:
    return quote_identifier(name)


def _ref(column: str) -> str:
    return f"({column})" if isinstance(column, Sql) else f"source_rows.{quote_identifier(column)}"


def as_text(value: Any) -> str:
    """A value as a reason shows it: 1 (not 1.0), true, 1900-01-01 (not its midnight)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and sql.is_iso(value):
        return value[:10] if value[10:] in ("", "T00:00:00+00:00") else value
    return str(value)


def written_formats(formats: Sequence[str], first: str) -> str:
    """How a reason names the accepted formats: `ISO 8601 or DD.MM.YYYY hh:mm`."""
    names = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%H": "hh", "%M": "mm", "%S": "ss", "%z": "±hh:mm"}
    shown = [re.sub(r"%[YymdHMSz]", lambda m: names[m.group(0)], f) for f in formats]
    return " or ".join([first, *shown])


def text(column: str) -> Sql:
    return Sql(f"cast({_ref(column)} as varchar)")


def given(column: str, placeholders: Sequence[str] = PLACEHOLDERS) -> Sql:
    """The trimmed value, or NULL when empty or a placeholder such as 'n/a', '-', 'unbekannt'."""
    listed = ", ".join(sql.literal(p) for p in placeholders)
    value = f"trim({text(column)})"
    return Sql(f"case when lower({value}) in ({listed}) then null else {value} end")


def number_of(value: str, integer: bool = False) -> Sql:
    """A finite number from text (`1234.5`, `-3`, `1e3`, and as people write them: `12,50`, `1.234,56`,
    `1,234.56`); `integer`: only whole numbers. NULL otherwise. The twin of dbt's `c360_to_amount` macro."""
    number = f"try_cast({decimal_point(value)} as double)"
    whole = f" and {number} = trunc({number})" if integer else ""
    return Sql(f"case when isfinite({number}){whole} then {number} end")


def decimal_point(value: str) -> Sql:
    """Text with a decimal comma or thousands separators rewritten with a plain decimal point."""
    return Sql(
        f"case when regexp_full_match({value}, '[+-]?[0-9]{{1,3}}([.][0-9]{{3}})+(,[0-9]+)?') "
        f"then replace(replace({value}, '.', ''), ',', '.') "
        f"when regexp_full_match({value}, '[+-]?[0-9]{{1,3}}(,[0-9]{{3}})+([.][0-9]+)?') then replace({value}, ',', '') "
        f"when regexp_full_match({value}, '[+-]?[0-9]*,[0-9]+') then replace({value}, ',', '.') "
        f"else {value} end"
    )


def boolean_of(value: str) -> Sql:
    """true/false from yes/no text (true/false, t/f, yes/no, y/n, 1/0, ja/nein, j/n); NULL otherwise."""
    lowered = f"lower({value})"
    yes = ", ".join(sql.literal(v) for v in TRUE_VALUES)
    no = ", ".join(sql.literal(v) for v in FALSE_VALUES)
    return Sql(f"case when {lowered} in ({yes}) then true when {lowered} in ({no}) then false end")


def strptime_of(value: str, pattern: str) -> Sql:
    """try_strptime, safe from DuckDB 1.5 reading one byte past a value that stops where the format goes on
    (`24.12.2023 10:15` against `%d.%m.%Y %H:%M:%S`), which can crash the process: a sentinel byte closes both.
    (The dbt macro c360_strptime does the same in staging.)"""
    return Sql(f"try_strptime(trim({value}) || chr(31), {sql.literal(pattern)} || chr(31))")


def date_of(value: str, formats: Sequence[str] = ()) -> Sql:
    """A date (as timestamptz, midnight UTC) from ISO 8601 text or one of `formats`; NULL when it does not parse."""
    attempts = [f"try_cast({value} as date)"]
    attempts += [f"cast({strptime_of(value, f)} as date)" for f in formats]
    return Sql(f"cast(coalesce({', '.join(attempts)}) as timestamptz)")


def timestamp_of(value: str, formats: Sequence[str] = (), time_zone: str = "UTC") -> Sql:
    """A timestamptz from ISO 8601 text (with or without offset) or one of `formats`; NULL if unparseable.
    Times without an offset are read in `time_zone`."""
    if time_zone == "UTC":
        attempts = [f"try_cast({value} as timestamptz)"]
        attempts += [f"cast({strptime_of(value, f)} as timestamptz)" for f in formats]
        return Sql(f"coalesce({', '.join(attempts)})")
    zone = sql.literal(time_zone)
    attempts = [
        f"case when regexp_matches({value}, {sql.literal(_OFFSET)}) then try_cast({value} as timestamptz) "
        f"else timezone({zone}, try_cast({value} as timestamp)) end"
    ]
    for f in formats:
        parsed = strptime_of(value, f)
        attempts.append(f"cast({parsed} as timestamptz)" if "%z" in f or "%Z" in f else f"timezone({zone}, {parsed})")
    return Sql(f"coalesce({', '.join(attempts)})")


def digit_count(value: str) -> Sql:
    """How many digits a phone number has, without an international `00` prefix: `0049 4721 77582485` has 14,
    as `+49 4721 77582485` does."""
    # 00 followed by a country code (never 0): "0000000" keeps its 7 digits
    without_prefix = f"regexp_replace({value}, '^00([1-9])', '\\1')"
    return Sql(f"cast(length(regexp_replace({without_prefix}, '[^0-9]', '', 'g')) as bigint)")


def parse_date(column: str, formats: Sequence[str] = ("%d.%m.%Y",)) -> Sql:
    """A raw column's date (ISO 8601 or one of `formats`), as timestamptz at midnight UTC; NULL when not given or
    not a date."""
    return date_of(given(column), formats)


def parse_timestamp(column: str, formats: Sequence[str] = (), time_zone: str = "UTC") -> Sql:
    """A raw column's time (ISO 8601 or one of `formats`; naive times in `time_zone`); NULL if unparseable."""
    return timestamp_of(given(column), formats, time_zone)


def parse_number(column: str, integer: bool = False) -> Sql:
    """A raw column's number (0 is a number, not a placeholder); NULL when not given or not a number."""
    return number_of(given(column, VALUE_PLACEHOLDERS), integer)


def parse_boolean(column: str) -> Sql:
    return boolean_of(given(column, VALUE_PLACEHOLDERS))


def digits(column: str) -> Sql:
    """How many digits a raw column's phone number has (NULL when not given)."""
    return digit_count(given(column))


def reference(column: str, relation: str, key: str) -> Sql:
    """The value when `relation` has a row with `key` equal to it; NULL when unknown (or not given)."""
    return Sql(
        f"case when {_ref(column)} is not null and exists (select 1 from {relation} as referenced "
        f"where cast(referenced.{quote_identifier(key)} as varchar) = {text(column)}) then {text(column)} end"
    )


def json_field(column: str, path: str) -> Sql:
    """A scalar field of a JSON column as text (`requester`, `id` → the requester's id)."""
    return Sql(f"json_extract_string({_ref(column)}, {sql.literal('$.' + path)})")


def json_type(column: str) -> Sql:
    return Sql(f"case when {_ref(column)} is null then null else json_type({_ref(column)}) end")
