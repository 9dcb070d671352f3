"""What a suite module needs: the batch it is built for, and helpers that turn `gxe.*` expectations into
rules.

A suite module is one function, `build(ctx: SuiteContext) -> gx.ExpectationSuite`. It adds expectations
through three helpers that say what a failure means:

    quarantine(suite, ctx, gxe.ExpectColumnValuesToNotBeNull(column="kontakt_id"), rule="contact_id_missing")
        row level: the offending rows go to quarantine.<source>__<table> and the batch continues; only
        when too many rows fail (QualitySettings.max_bad_share) is the batch rejected. Needs a SQL
        translation (expectations/sql.py).
    block(suite, gxe.ExpectTableRowCountToBeBetween(min_value=1), rule="volume_collapse")
        batch level: a failure rejects the batch and stops the run before resolution.
    warn(suite, gxe.ExpectColumnMaxToBeBetween(...), rule="stale")
        reported (CLI summary, Data Docs), never stops anything.

Derived columns (`derive`) are SQL expressions over the raw columns, computed in the warehouse: parsed dates,
numbers, normalised e-mail addresses, reference lookups. GX validates them like any column and the quarantine
SQL reads the same expressions, so there is one definition of every rule.

`standard_checks` adds what every table gets (schema stability, primary key, volume); the generic suite
(suites/default.py) is exactly that. Checks several tables share have helpers too (`parent_checks`,
`timestamp_checks`, `number_check`, `email_check`, `phone_checks`, `birth_date_checks`): each derives its
columns and adds its rules, e.g. `timestamp_checks(suite, ctx, "updated_at")`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from customer360.core.config import TableConfig
from customer360.core.warehouse import BATCH_ID, ROW_NUMBER, quote_identifier
from expectations import sql
from expectations.settings import QualitySettings

Action = Literal["quarantine", "block", "warn"]
META_KEY = "c360"
IDENTITY_COLUMNS = (BATCH_ID, ROW_NUMBER)

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

# Formats. Character classes are spelled out ([0-9], not \d) so that Python's re (GX) and RE2 (DuckDB) agree.
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
PHONE_CHARACTERS = r"^\+?[0-9 ()/.-]+$"
POSTCODE_DE = r"^[0-9]{5}$"
POSTCODE_AT_CH = r"^[0-9]{4}$"
POSTCODE_DACH = r"^[0-9]{4,5}$"
INTEGER = r"^-?[0-9]+$"
PHONE_DIGITS = (6, 15)  # E.164 allows at most 15 digits; fewer than 6 is no phone number
EARLIEST_BIRTH = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Baseline:
    """What earlier accepted batches of the table looked like (empty for a table's first batch)."""

    columns: tuple[str, ...] | None = None  # the schema they established; None: nothing accepted yet
    fill: dict[str, float] = field(default_factory=dict)  # share of rows with a value, per column
    reference_rows: float | None = None  # median rows of the recent non-empty batches
    batches: int = 0


@dataclass(frozen=True)
class SuiteContext:
    """The batch a suite is built for. Suites are rebuilt per batch: volume and schema depend on history."""

    source: str  # `raw` tables: the source name; marts: "marts"
    table: str
    as_of: dt.datetime  # the run's start: "in the future" and "fresh" are measured against it
    settings: QualitySettings = field(default_factory=QualitySettings)
    table_config: TableConfig | None = None
    rows: int = 0
    columns: tuple[str, ...] = ()  # data columns this batch delivered
    missing: tuple[str, ...] = ()  # baseline columns this batch did not deliver
    new: tuple[str, ...] = ()  # delivered columns the baseline does not know
    baseline: Baseline = field(default_factory=Baseline)
    schema: str | None = None  # DuckDB schema of the table (raw_<source> or marts)
    batch_id: str | None = None
    latest: bool = True  # the newest batch of its table in this run (freshness is judged on it only)

    @property
    def name(self) -> str:
        return f"{self.source}.{self.table}"

    @property
    def primary_key(self) -> list[str]:
        return list(self.table_config.primary_key) if self.table_config else []

    def relation(self, table: str, schema: str | None = None) -> str:
        """A sibling table, e.g. `ctx.relation("customers")` → raw_sales."customers" (reference checks)."""
        return f"{quote_identifier(schema or self.schema or 'raw_' + self.source)}.{quote_identifier(table)}"

    def iso(self, moment: dt.datetime) -> str:
        return moment.astimezone(dt.UTC).isoformat()

    @property
    def mostly(self) -> float:
        """GX `mostly` for quarantine rules: the share of rows that must pass before the batch is rejected."""
        allowed = max(self.settings.max_bad_share, self.settings.min_bad_rows / max(self.rows, 1))
        return round(max(0.0, 1.0 - allowed), 6)


# -- the suite and its parts ---------------------------------------------------------------------------------


def new_suite(ctx: SuiteContext, description: str) -> gx.ExpectationSuite:
    """An empty suite named `<source>.<table>`; `description` says what the table is (shown in Data Docs)."""
    return gx.ExpectationSuite(
        name=ctx.name,
        meta={
            "notes": {"format": "markdown", "content": [description]},
            META_KEY: {"derived": {}, "columns": [], "skipped": []},
        },
    )


def _meta(suite: gx.ExpectationSuite) -> dict[str, Any]:
    return suite.meta.setdefault(META_KEY, {"derived": {}, "columns": [], "skipped": []})


def derive(suite: gx.ExpectationSuite, name: str, expression: str, shows: str | None = None) -> str:
    """Add a derived column (a SQL expression over the raw columns); returns its name.

    `shows`: the raw column a reason quotes for this column (a parsed date shows the text as delivered).
    """
    if "__" not in name:
        raise ValueError(
            f"derived column {name!r}: use a name with '__', e.g. birth_date__date (raw columns have none)"
        )
    _meta(suite)["derived"][name] = {"sql": expression, "shows": shows}
    return name


def declare_columns(suite: gx.ExpectationSuite, columns: Iterable[str]) -> None:
    """The columns the table is documented to have (a delivery without one of them still compiles its SQL)."""
    known = _meta(suite)["columns"]
    known.extend(c for c in columns if c not in known)


def derived_columns(suite: gx.ExpectationSuite) -> dict[str, dict[str, Any]]:
    return dict(_meta(suite)["derived"])


def declared_columns(suite: gx.ExpectationSuite) -> list[str]:
    return list(_meta(suite)["columns"])


def _add(
    suite: gx.ExpectationSuite,
    expectation: Expectation,
    action: Action,
    rule: str,
    reason: str | None,
    severity: str,
) -> Expectation:
    for existing in suite.expectations:
        if rule_of(existing) == rule:
            raise ValueError(f"suite {suite.name}: rule {rule!r} is defined twice")
    template = reason or sql.default_reason(expectation)
    if action == "quarantine":
        sql.predicate(expectation, 0)  # fails now, at build time, when the rule has no SQL translation
    expectation.severity = severity  # type: ignore[assignment]
    expectation.meta = {
        **(expectation.meta or {}),
        META_KEY: {"rule": rule, "action": action, "reason": template},
    }
    consequence = {
        "quarantine": "failing rows are quarantined; too many reject the batch",
        "block": "a failure rejects the batch and stops the run",
        "warn": "a failure is reported, nothing is stopped",
    }[action]
    expectation.notes = f"**{rule}** ({consequence}): {template}"
    # Appended directly: suite.add_expectation needs an active GX context, and suites are built without one.
    suite.expectations.append(expectation)
    return expectation


def quarantine(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    expectation: Expectation,
    rule: str,
    reason: str | None = None,
) -> Expectation:
    """Row level: failing rows go to quarantine. `reason` may use {column}, {value} ({count}: uniqueness)."""
    if getattr(expectation, "mostly", None) in (None, 1, 1.0):
        expectation.mostly = ctx.mostly  # type: ignore[attr-defined]
    return _add(suite, expectation, "quarantine", rule, reason, "critical")


def block(suite: gx.ExpectationSuite, expectation: Expectation, rule: str, reason: str | None = None) -> Expectation:
    """Batch level: a failure rejects the batch (and stops the run)."""
    return _add(suite, expectation, "block", rule, reason, "critical")


def warn(suite: gx.ExpectationSuite, expectation: Expectation, rule: str, reason: str | None = None) -> Expectation:
    """Reported only."""
    return _add(suite, expectation, "warn", rule, reason, "warning")


def rule_of(expectation: Expectation) -> str | None:
    return ((expectation.meta or {}).get(META_KEY) or {}).get("rule")


def action_of(expectation: Expectation) -> Action:
    return ((expectation.meta or {}).get(META_KEY) or {}).get("action", "block")


def reason_of(expectation: Expectation) -> str:
    return ((expectation.meta or {}).get(META_KEY) or {}).get("reason") or sql.default_reason(expectation)


# -- standard checks: every table gets these -----------------------------------------------------------------


def standard_checks(suite: gx.ExpectationSuite, ctx: SuiteContext, required: Sequence[str] = ()) -> None:
    """Schema stability, primary key (from the table's configuration) and volume."""
    schema_checks(suite, ctx, required)
    primary_key_checks(suite, ctx)
    volume_checks(suite, ctx)


def schema_checks(suite: gx.ExpectationSuite, ctx: SuiteContext, required: Sequence[str] = ()) -> None:
    """The batch delivers the columns earlier batches established (none missing; no new ones unless allowed),
    and every `required` column exists at all (this also covers a table's first delivery)."""
    declare_columns(suite, required)
    for column in required:
        block(
            suite,
            gxe.ExpectColumnToExist(column=column),
            rule=f"column_{column}_present",
            reason=f"required column {column} is missing from the delivery",
        )
    if ctx.baseline.columns is None:
        return
    # (the runner adds the row identity and the derived columns, which every frame carries)
    expected = list(ctx.baseline.columns)
    block(
        suite,
        gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=not ctx.settings.allow_new_columns),
        rule="schema_stable",
        reason="the delivery's columns differ from earlier deliveries",
    )


def primary_key_checks(suite: gx.ExpectationSuite, ctx: SuiteContext, key: Sequence[str] | None = None) -> None:
    """Every row has its key, and no key occurs twice in one batch (from `primary_key` in customer360.yml)."""
    columns = list(key if key is not None else ctx.primary_key)
    if not columns:
        return
    declare_columns(suite, columns)
    for column in columns:
        quarantine(
            suite,
            ctx,
            gxe.ExpectColumnValuesToNotBeNull(column=column),
            rule=f"{column}_missing",
            reason=f"{{column}} is missing: {ctx.table} rows are identified by {', '.join(columns)}",
        )
    if len(columns) == 1:
        quarantine(
            suite,
            ctx,
            gxe.ExpectColumnValuesToBeUnique(column=columns[0]),
            rule=f"{columns[0]}_duplicate",
            reason="{column} {value} occurs {count} times in this delivery: which row is right is unknown",
        )
    else:
        quarantine(
            suite,
            ctx,
            gxe.ExpectCompoundColumnsToBeUnique(column_list=columns, ignore_row_if="any_value_is_missing"),
            rule="primary_key_duplicate",
            reason=f"the key ({', '.join(columns)}) occurs {{count}} times in this delivery",
        )


def volume_checks(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    """No collapse to 0 rows and no sudden jump against the recent batches of the table."""
    reference = ctx.baseline.reference_rows
    if not reference:
        warn(
            suite,
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            rule="volume_not_empty",
            reason="the delivery has no rows (and there is no earlier delivery to compare with)",
        )
        return
    ceiling = max(math.ceil(ctx.settings.volume_jump_ratio * reference), ctx.settings.volume_jump_min_rows)
    block(
        suite,
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        rule="volume_collapse",
        reason=f"the delivery has no rows; recent deliveries had about {reference:,.0f}",
    )
    block(
        suite,
        gxe.ExpectTableRowCountToBeBetween(max_value=ceiling),
        rule="volume_jump",
        reason=(
            f"the delivery has more than {ceiling:,} rows, over {ctx.settings.volume_jump_ratio:g}× the "
            f"{reference:,.0f} of recent deliveries"
        ),
    )


def freshness_check(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str, label: str | None = None) -> None:
    """Warn when the newest change in the batch is older than QualitySettings.freshness_days.

    Judged on the newest batch of the table in the run only: an older file loaded late is not "stale data".
    """
    if not ctx.latest:
        return
    oldest = ctx.as_of - dt.timedelta(days=ctx.settings.freshness_days)
    warn(
        suite,
        gxe.ExpectColumnMaxToBeBetween(column=column, min_value=ctx.iso(oldest)),
        rule="fresh",
        reason=(
            f"the newest {label or column} is older than {ctx.settings.freshness_days:g} days "
            f"(before {oldest:%Y-%m-%d})"
        ),
    )


# -- checks several tables share -----------------------------------------------------------------------------
# Each derives the columns it needs and adds its rules, with the names and reasons the quarantine tables show.


def parent_checks(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    table: str,
    key: str,
    parent: str,
    child: str,
    no_such: str | None = None,
) -> None:
    """A row names its parent (`column`), and the parent is known: `table` of the same source has a row whose
    `key` equals it (from this or an earlier delivery). An orphan waits in quarantine until its parent arrives.

    `parent`/`child` word the rules and reasons (`contact_missing`: "the event belongs to no contact");
    `no_such` is what the reason says the table lacks (default: the parent).
    """
    known = derive(suite, f"{column}__known", reference(column, ctx.relation(table), key), shows=column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        rule=f"{parent}_missing",
        reason=f"{{column}} is missing: the {child} belongs to no {parent}",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=known, row_condition=Column(column).is_not_null()),
        rule=f"{parent}_unknown",
        reason=f"{{column}} {{value}} is not a known {parent} (no such {no_such or parent} in {ctx.source}.{table})",
    )


def timestamp_checks(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = (),
    rule: str | None = None,
    written: str = "an ISO 8601 timestamp",
) -> str:
    """A time, when given, parses (ISO 8601 or one of `formats`) and does not lie in the future (a day of
    tolerance: clocks and time zones differ). Returns the parsed column, `<column>__at`, e.g. for
    freshness_check.

    `rule`: the rules' prefix (default: the column); `written`: what the reason says the value should be.
    """
    parsed = derive(suite, f"{column}__at", parse_timestamp(column, formats), shows=column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=parsed, row_condition=Column(column).is_not_null()),
        rule=f"{rule or column}_format",
        reason=f"{{column}} {{value}} is not {written}",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column=parsed, max_value=ctx.iso(ctx.as_of + dt.timedelta(days=1))),
        rule=f"{rule or column}_future",
        reason="{column} {value} lies in the future",
    )
    return parsed


def number_check(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str) -> str:
    """A number, when given, parses. Returns the parsed column, `<column>__number`, for range checks."""
    filled = derive(suite, f"{column}__given", given(column), shows=column)
    number = derive(suite, f"{column}__number", parse_number(column), shows=column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=number, row_condition=Column(filled).is_not_null()),
        rule=f"{column}_format",
        reason="{column} {value} is not a number",
    )
    return number


def email_check(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str) -> None:
    """An e-mail address, when given, looks like one (well-formed junk such as test@test.de is left to the
    standardisation in dbt)."""
    checked = derive(suite, f"{column}__checked", given(column), shows=column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column=checked, regex=EMAIL),
        rule="email_format",
        reason="{column} {value} is not an e-mail address (name@domain.tld)",
    )


def phone_checks(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str, rule: str | None = None) -> None:
    """A phone number, when given, has only the characters phone numbers have and PHONE_DIGITS digits.

    `rule`: the rules' prefix (default: the column).
    """
    checked = derive(suite, f"{column}__checked", given(column), shows=column)
    counted = derive(suite, f"{column}__digits", digits(column), shows=column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column=checked, regex=PHONE_CHARACTERS),
        rule=f"{rule or column}_characters",
        reason="{column} {value} contains characters a phone number cannot have",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column=counted, min_value=PHONE_DIGITS[0], max_value=PHONE_DIGITS[1]),
        rule=f"{rule or column}_length",
        reason=f"{{column}} {{value}} is not a phone number ({PHONE_DIGITS[0]} to {PHONE_DIGITS[1]} digits)",
    )


def birth_date_checks(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = ("%Y-%m-%d", "%d.%m.%Y"),
    written: str = "YYYY-MM-DD or DD.MM.YYYY",
) -> None:
    """A birth date, when given, is a date in one of `formats` (`written` names them in the reason), not before
    1900 and not after the day of the check."""
    filled = derive(suite, f"{column}__given", given(column), shows=column)
    parsed = derive(suite, f"{column}__date", parse_date(column, formats), shows=column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=parsed, row_condition=Column(filled).is_not_null()),
        rule="birth_date_format",
        reason=f"{{column}} {{value}} is not a date ({written})",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column=parsed, min_value=ctx.iso(EARLIEST_BIRTH), max_value=ctx.iso(ctx.as_of)
        ),
        rule="birth_date_range",
        reason=f"{{column}} {{value}} is not a plausible birth date (after {ctx.as_of:%Y-%m-%d}, the day of "
        "the check, or before 1900)",
    )


# -- SQL building blocks for derived columns -----------------------------------------------------------------


class Sql(str):
    """A SQL expression, for the helpers below that otherwise take a column name: given(Sql("a ->> 'b'"))."""


def _ref(column: str) -> str:
    return f"({column})" if isinstance(column, Sql) else f"source_rows.{quote_identifier(column)}"


def text(column: str) -> Sql:
    return Sql(f"cast({_ref(column)} as varchar)")


def given(column: str) -> Sql:
    """The trimmed value, or NULL when empty or a placeholder such as 'n/a', '-', 'unbekannt'."""
    placeholders = ", ".join(sql.literal(p) for p in PLACEHOLDERS)
    value = f"trim({text(column)})"
    return Sql(f"case when lower({value}) in ({placeholders}) then null else {value} end")


def parse_date(column: str, formats: Sequence[str] = ("%Y-%m-%d", "%d.%m.%Y")) -> Sql:
    """A date (as timestamptz, midnight UTC) from text in one of `formats`; NULL when it does not parse."""
    attempts = ", ".join(f"try_strptime({given(column)}, {sql.literal(f)})" for f in formats)
    return Sql(f"cast(cast(coalesce({attempts}) as date) as timestamptz)")


def parse_timestamp(column: str, formats: Sequence[str] = ()) -> Sql:
    """A timestamptz from ISO 8601 text (with or without offset) or one of `formats`; NULL if unparseable."""
    attempts = [f"try_cast({given(column)} as timestamptz)"]
    attempts += [f"cast(try_strptime({given(column)}, {sql.literal(f)}) as timestamptz)" for f in formats]
    return Sql(f"coalesce({', '.join(attempts)})")


def parse_number(column: str) -> Sql:
    return Sql(f"try_cast({given(column)} as double)")


def digits(column: str) -> Sql:
    """How many digits a phone number has, without an international `00` prefix (NULL when not given):
    `0049 4721 77582485` has 14, as `+49 4721 77582485` does."""
    # 00 followed by a country code (never 0): "0000000" keeps its 7 digits
    without_prefix = f"regexp_replace({given(column)}, '^00([1-9])', '\\1')"
    return Sql(f"cast(length(regexp_replace({without_prefix}, '[^0-9]', '', 'g')) as bigint)")


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
