"""What a suite is made of: the batch it is built for, and helpers that turn `gxe.*` expectations into rules.

Every expectation is added through one of three helpers that say what a failure means:

    quarantine(suite, ctx, gxe.ExpectColumnValuesToNotBeNull(column="kontakt_id"), rule="kontakt_id_missing")
        row level: the offending rows go to quarantine.<source>__<table> and the batch continues; only
        when too many rows fail (QualitySettings.max_bad_share) is the batch rejected. Needs a SQL
        translation (expectations/sql.py).
    block(suite, gxe.ExpectTableRowCountToBeBetween(min_value=1), rule="volume_collapse")
        batch level: a failure rejects the batch and stops the run before resolution.
    warn(suite, gxe.ExpectColumnMaxToBeBetween(...), rule="freshness")
        reported (CLI summary, Data Docs), never stops anything.

`check(..., action=...)` picks one of them by name (the configuration's `on_fail`).

Derived columns (`derive`) are SQL expressions over the raw columns, computed in the warehouse: parsed dates,
numbers, normalised e-mail addresses, reference lookups. GX validates them like any column and the quarantine
SQL reads the same expressions, so there is one definition of every rule. A derived column may read earlier
ones (`after=`): they are computed in stages, so a value is trimmed and parsed once, not once per rule. The SQL
building blocks (`given`, `parse_*`, `json_field`, ...) are in expectations/values.py.

The suite of a raw table is built in three layers (expectations/suites.py): `standard_checks` (schema
stability, primary key, volume: every table), the column rules of `customer360.yml` (expectations/rules.py,
one helper below per rule), and the project's own suite module, if it has one. The helpers are the project
modules' vocabulary too; each adds one rule, named `<column>_<what>` unless `rule=` says otherwise:

    required_check     <column>_missing       number_check     <column>_format (→ <column>__number)
    pattern_check      <column>_pattern       date_check       <column>_format (→ <column>__date)
    allowed_check      <column>_not_allowed   timestamp_check  <column>_format (→ <column>__at)
    bound_check        <column>_below_min /   email_check, phone_check, json_check, boolean_check
                       <column>_above_max                      <column>_format
    future_check       <column>_future        reference_check  <column>_unknown
    unique_check       <column>_duplicate     presence_check   <column>_not_delivered (batch level)

Each takes `value=` (a SQL expression, e.g. `json_field("requester", "email")`) to check something other than
the raw column of that name. `given_column`, `parsed_number`, `parsed_boolean`, `parsed_date` and
`parsed_timestamp` derive a column's given or parsed value exactly as those rules do (a module that compares two
times reads them through these). Composite helpers: `parent_checks`, `timestamp_checks`, `birth_date_checks`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.expectation import Expectation

from customer360.core.config import TableConfig
from customer360.core.warehouse import BATCH_ID, ROW_NUMBER, quote_identifier
from expectations import sql
from expectations.settings import QualitySettings
from expectations.values import (
    PLACEHOLDERS,
    VALUE_PLACEHOLDERS,
    Sql,
    as_text,
    boolean_of,
    date_of,
    digit_count,
    given,
    number_of,
    q,
    timestamp_of,
    written_formats,
)

if TYPE_CHECKING:
    from customer360.core.config import Config

Action = Literal["quarantine", "block", "warn"]
ACTIONS: tuple[Action, ...] = ("quarantine", "block", "warn")
META_KEY = "c360"
IDENTITY_COLUMNS = (BATCH_ID, ROW_NUMBER)

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
    config: Config | None = None  # the project's configuration (references to other sources, time zone)
    # the warehouse's tables and their columns ("schema.table" -> columns); None: unknown (suites built offline)
    catalog: Mapping[str, frozenset[str]] | None = None

    @property
    def name(self) -> str:
        return f"{self.source}.{self.table}"

    @property
    def primary_key(self) -> list[str]:
        return list(self.table_config.primary_key) if self.table_config else []

    @property
    def time_zone(self) -> str:
        """Naive times (no offset) are read in the project's time zone."""
        return self.config.time_zone if self.config is not None else "UTC"

    def relation(self, table: str, schema: str | None = None) -> str:
        """A sibling table, e.g. `ctx.relation("customers")` → raw_sales."customers" (reference checks)."""
        return f"{quote_identifier(schema or self.schema or 'raw_' + self.source)}.{quote_identifier(table)}"

    def has_column(self, schema: str, table: str, column: str) -> bool:
        """Whether the warehouse has `schema.table.column` (True when the catalog is unknown)."""
        if self.catalog is None:
            return True
        return column in self.catalog.get(f"{schema}.{table}", frozenset())

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


def derive(
    suite: gx.ExpectationSuite,
    name: str,
    expression: str,
    shows: str | None = None,
    label: str | None = None,
    *,
    after: Sequence[str] = (),
) -> str:
    """Add a derived column (a SQL expression over the raw columns, `source_rows."<column>"`); returns its name.

    `shows`: the column whose value a reason quotes for this column (a parsed date shows the text as
    delivered); `label`: what a reason calls it (default: `shows`, else the derived column's name); `after`: the
    derived columns the expression reads (as `source_rows."<name>"`): it is computed in a later stage than those.
    Deriving a name again with the same expression is a no-op; with another expression it is an error.
    """
    if "__" not in name:
        raise ValueError(
            f"derived column {name!r}: use a name with '__', e.g. birth_date__date (raw columns have none)"
        )
    derived = _meta(suite)["derived"]
    unknown = [n for n in after if n not in derived]
    if unknown:
        raise ValueError(f"derived column {name!r} reads {unknown}, which are not derived (yet)")
    stage = 1 + max(derived[n]["stage"] for n in after) if after else 0
    known = derived.get(name)
    if known is not None and (known["sql"], known["stage"]) != (str(expression), stage):
        raise ValueError(f"suite {suite.name}: derived column {name!r} is already defined by another expression")
    if known is None:
        derived[name] = {"sql": str(expression), "shows": shows, "label": label, "stage": stage}
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
    shows: str | None = None,
    label: str | None = None,
) -> Expectation:
    for existing in suite.expectations:
        if rule_of(existing) == rule:
            raise ValueError(f"suite {suite.name}: rule {rule!r} is defined twice")
    template = reason or sql.default_reason(expectation)
    if action == "quarantine":
        sql.predicate(expectation, 0)  # fails now, at build time, when the rule has no SQL translation
    expectation.severity = severity  # type: ignore[assignment]
    note: dict[str, Any] = {"rule": rule, "action": action, "reason": template}
    if shows:
        note["shows"] = shows
    if label:
        note["label"] = label
    expectation.meta = {**(expectation.meta or {}), META_KEY: note}
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
    *,
    shows: str | None = None,
    label: str | None = None,
) -> Expectation:
    """Row level: failing rows go to quarantine. `reason` may use {column}, {value} ({count}: uniqueness);
    `shows`/`label`: the column whose value {value} quotes and what {column} says (default: the expectation's
    column, or what its derived column shows)."""
    if getattr(expectation, "mostly", None) in (None, 1, 1.0):
        expectation.mostly = ctx.mostly  # type: ignore[attr-defined]
    return _add(suite, expectation, "quarantine", rule, reason, "critical", shows, label)


def block(
    suite: gx.ExpectationSuite,
    expectation: Expectation,
    rule: str,
    reason: str | None = None,
    *,
    shows: str | None = None,
    label: str | None = None,
) -> Expectation:
    """Batch level: a failure rejects the batch (and stops the run)."""
    return _add(suite, expectation, "block", rule, reason, "critical", shows, label)


def warn(
    suite: gx.ExpectationSuite,
    expectation: Expectation,
    rule: str,
    reason: str | None = None,
    *,
    shows: str | None = None,
    label: str | None = None,
) -> Expectation:
    """Reported only."""
    return _add(suite, expectation, "warn", rule, reason, "warning", shows, label)


def check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    expectation: Expectation,
    rule: str,
    reason: str | None = None,
    *,
    action: Action = "quarantine",
    shows: str | None = None,
    label: str | None = None,
) -> Expectation:
    """`quarantine`, `block` or `warn`, by name (a rule's `on_fail`)."""
    if action == "quarantine":
        return quarantine(suite, ctx, expectation, rule, reason, shows=shows, label=label)
    if action == "block":
        return block(suite, expectation, rule, reason, shows=shows, label=label)
    if action == "warn":
        return warn(suite, expectation, rule, reason, shows=shows, label=label)
    raise ValueError(f"rule {rule!r}: action {action!r} is not one of {', '.join(ACTIONS)}")


def note_of(expectation: Expectation) -> dict[str, Any]:
    """What the kit recorded on an expectation: rule, action, reason (and shows, label)."""
    return (expectation.meta or {}).get(META_KEY) or {}


def rule_of(expectation: Expectation) -> str | None:
    return note_of(expectation).get("rule")


def action_of(expectation: Expectation) -> Action:
    return note_of(expectation).get("action", "block")


def reason_of(expectation: Expectation) -> str:
    return note_of(expectation).get("reason") or sql.default_reason(expectation)


def shown_by(
    note: Mapping[str, Any], column: str | None, derived: Mapping[str, Mapping[str, Any]]
) -> tuple[str | None, str | None]:
    """(column whose value a reason quotes, what the reason calls it) for an expectation's note and column."""
    spec = derived.get(column or "") or {}
    shows = note.get("shows") or spec.get("shows") or column
    label = note.get("label") or spec.get("label") or spec.get("shows") or note.get("shows") or column
    return shows, label


# -- standard checks: every table gets these -----------------------------------------------------------------


def standard_checks(suite: gx.ExpectationSuite, ctx: SuiteContext, required: Sequence[str] = ()) -> None:
    """Schema stability, primary key (from the table's configuration) and volume (with its `volume:` settings)."""
    schema_checks(suite, ctx, required)
    primary_key_checks(suite, ctx)
    volume_checks(suite, ctx)


def schema_checks(suite: gx.ExpectationSuite, ctx: SuiteContext, required: Sequence[str] = ()) -> None:
    """The batch delivers the columns earlier batches established (none missing; no new ones unless allowed),
    and the primary key's and every `required` column exist at all (this also covers a table's first
    delivery)."""
    for column in dict.fromkeys([*ctx.primary_key, *required]):
        presence_check(suite, ctx, column)
    if ctx.baseline.columns is None:
        return
    # (the gate adds the row identity and the derived columns, which every frame carries)
    expected = list(ctx.baseline.columns)
    block(
        suite,
        gxe.ExpectTableColumnsToMatchSet(column_set=expected, exact_match=not ctx.settings.allow_new_columns),
        rule="schema_stable",
        reason="the delivery's columns differ from earlier deliveries",
    )


def presence_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    action: Action = "block",
    rule: str | None = None,
) -> None:
    """Batch level: the delivery has the column (a column a raw table knows from earlier deliveries but this one
    left entirely empty counts as not delivered, see docs/quality.md)."""
    declare_columns(suite, [column])
    check(
        suite,
        ctx,
        gxe.ExpectColumnToExist(column=column),
        rule=rule or f"{column}_not_delivered",
        reason=f"required column {column} is missing from the delivery",
        action=action,
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
    """No collapse to 0 rows and no sudden jump against the recent batches of the table; with `volume:` in the
    table's configuration, at least `min_rows` and at most `max_rows` rows (from the first delivery on)."""
    volume = ctx.table_config.volume if ctx.table_config is not None else None
    reference = ctx.baseline.reference_rows
    if volume is not None:
        if volume.min_rows > 0:
            block(
                suite,
                gxe.ExpectTableRowCountToBeBetween(min_value=volume.min_rows),
                rule="volume_min_rows",
                reason=f"the delivery has fewer than {volume.min_rows:,} rows (volume.min_rows)",
            )
        if volume.max_rows is not None:
            block(
                suite,
                gxe.ExpectTableRowCountToBeBetween(max_value=volume.max_rows),
                rule="volume_max_rows",
                reason=f"the delivery has more than {volume.max_rows:,} rows (volume.max_rows)",
            )
    elif not reference:
        warn(
            suite,
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            rule="volume_not_empty",
            reason="the delivery has no rows (and there is no earlier delivery to compare with)",
        )
    elif reference < ctx.settings.volume_collapse_min_rows:
        warn(
            suite,
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            rule="volume_not_empty",
            reason=f"the delivery has no rows; recent deliveries had about {reference:,.0f}, too few to call it a collapse",
        )
    else:
        block(
            suite,
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            rule="volume_collapse",
            reason=f"the delivery has no rows; recent deliveries had about {reference:,.0f}",
        )
    if not reference:
        return
    ratio = (volume.max_jump_ratio if volume is not None else None) or ctx.settings.volume_jump_ratio
    ceiling = max(math.ceil(ratio * reference), ctx.settings.volume_jump_min_rows)
    block(
        suite,
        gxe.ExpectTableRowCountToBeBetween(max_value=ceiling),
        rule="volume_jump",
        reason=f"the delivery has more than {ceiling:,} rows, over {ratio:g}× the {reference:,.0f} of recent deliveries",
    )


def freshness_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    label: str | None = None,
    *,
    max_age_days: float | None = None,
    rule: str = "freshness",
) -> None:
    """Warn when the newest value of `column` (a parsed time, e.g. from timestamp_check) is older than
    `max_age_days` (default QualitySettings.freshness_days).

    Judged on the newest batch of the table in the run only: an older file loaded late is not "stale data".
    """
    if not ctx.latest:
        return
    days = max_age_days or ctx.settings.freshness_days
    oldest = ctx.as_of - dt.timedelta(days=days)
    warn(
        suite,
        gxe.ExpectColumnMaxToBeBetween(column=column, min_value=ctx.iso(oldest)),
        rule=rule,
        reason=f"the newest {label or column} is older than {days:g} days (before {oldest:%Y-%m-%d})",
    )


# -- one rule per helper: what the configuration's column rules are made of ---------------------------------
# Each helper derives what it needs in stages: `<column>__given` (the trimmed value, placeholders as NULL) from the
# raw column; the parsed value (`__number`, `__boolean`, `__date`, `__at`) from `__given`; and for a format or
# reference rule a yes/no column (`__valid`, `__known`: NULL when no value is given) that the expectation checks
# for true. GX then needs no row_condition, which would filter the whole frame once per rule.


def given_column(suite: gx.ExpectationSuite, column: str, *, value: str | None = None, keep_zero: bool = False) -> str:
    """Derive `<column>__given`: the trimmed value, NULL when empty or a placeholder (`keep_zero`: 0 is a value,
    for numbers and yes/no values). `value`: a SQL expression to read instead of the raw column (which is then
    not declared: declare the columns the expression reads)."""
    placeholders = VALUE_PLACEHOLDERS if keep_zero else PLACEHOLDERS
    if value is None:
        declare_columns(suite, [column])  # a delivery without it still compiles (and passes: nothing is given)
    return derive(
        suite,
        f"{column}__given",
        given(_source(column, value), placeholders),
        shows=None if value is not None else column,
        label=column,
    )


def _source(column: str, value: str | None) -> str:
    """What a helper reads: the raw column, or the SQL expression `value`."""
    return Sql(value) if value is not None else column


def _shown(column: str, value: str | None) -> str:
    """The column a reason quotes: the raw column, or (for a `value` expression) its given value."""
    return column if value is None else f"{column}__given"


def _earlier(name: str) -> str:
    """A derived column of an earlier stage, as a later stage's expression reads it."""
    return f"source_rows.{quote_identifier(name)}"


def parsed_number(
    suite: gx.ExpectationSuite, ctx: SuiteContext, column: str, *, integer: bool = False, value: str | None = None
) -> str:
    """Derive `<column>__number` (a double; NULL when not given or not a number, `integer`: a whole number)."""
    filled = given_column(suite, column, value=value, keep_zero=True)
    return derive(
        suite,
        f"{column}__number",
        number_of(_earlier(filled), integer),
        shows=_shown(column, value),
        label=column,
        after=[filled],
    )


def parsed_boolean(suite: gx.ExpectationSuite, ctx: SuiteContext, column: str, *, value: str | None = None) -> str:
    """Derive `<column>__boolean` (true/false; NULL when not given or not a yes/no value)."""
    filled = given_column(suite, column, value=value, keep_zero=True)
    return derive(
        suite,
        f"{column}__boolean",
        boolean_of(_earlier(filled)),
        shows=_shown(column, value),
        label=column,
        after=[filled],
    )


def parsed_date(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = (),
    *,
    value: str | None = None,
) -> str:
    """Derive `<column>__date` (midnight UTC as timestamptz) from ISO 8601 or one of `formats` (strptime)."""
    filled = given_column(suite, column, value=value)
    return derive(
        suite,
        f"{column}__date",
        date_of(_earlier(filled), formats),
        shows=_shown(column, value),
        label=column,
        after=[filled],
    )


def parsed_timestamp(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = (),
    *,
    value: str | None = None,
) -> str:
    """Derive `<column>__at` (timestamptz) from ISO 8601 (with or without offset) or one of `formats`; naive
    times are read in the project's time zone."""
    filled = given_column(suite, column, value=value)
    return derive(
        suite,
        f"{column}__at",
        timestamp_of(_earlier(filled), formats, ctx.time_zone),
        shows=_shown(column, value),
        label=column,
        after=[filled],
    )


def required_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    value: str | None = None,
    keep_zero: bool = False,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """Every row has a value (placeholders such as 'n/a' count as missing)."""
    filled = given_column(suite, column, value=value, keep_zero=keep_zero)
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=filled),
        rule=rule or f"{column}_missing",
        reason=reason or "{column} is missing (required)",
        action=action,
    )


def _valid_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    ok: str,
    after: Sequence[str],
    *,
    value: str | None,
    action: Action,
    rule: str | None,
    reason: str,
) -> None:
    """`<column>_format`: where a value is given (`<column>__given`), the SQL condition `ok` holds; checked on the
    derived yes/no column `<column>__valid`."""
    filled = f"{column}__given"
    valid = derive(
        suite,
        f"{column}__valid",
        f"case when {_earlier(filled)} is null then null else coalesce({ok}, false) end",
        shows=_shown(column, value),
        label=column,
        after=after,
    )
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeInSet(column=valid, value_set=[True]),
        rule=rule or f"{column}_format",
        reason=reason,
        action=action,
    )


def number_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    integer: bool = False,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> str:
    """A number (`integer`: a whole number), when given, parses. Returns the parsed column, `<column>__number`,
    for range checks."""
    number = parsed_number(suite, ctx, column, integer=integer, value=value)
    _valid_check(
        suite,
        ctx,
        column,
        f"{_earlier(number)} is not null",
        [number],
        value=value,
        action=action,
        rule=rule,
        reason=reason or "{column} {value} is not " + ("a whole number" if integer else "a number"),
    )
    return number


def boolean_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> str:
    """A yes/no value, when given, is one (true/false, 1/0, yes/no, ja/nein, …). Returns `<column>__boolean`."""
    parsed = parsed_boolean(suite, ctx, column, value=value)
    _valid_check(
        suite,
        ctx,
        column,
        f"{_earlier(parsed)} is not null",
        [parsed],
        value=value,
        action=action,
        rule=rule,
        reason=reason or "{column} {value} is not a yes/no value (true/false, 1/0, yes/no, ja/nein)",
    )
    return parsed


def date_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = (),
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> str:
    """A date, when given, is ISO 8601 (YYYY-MM-DD) or one of `formats` (strptime). Returns `<column>__date`
    (midnight UTC), for range checks."""
    parsed = parsed_date(suite, ctx, column, formats, value=value)
    _valid_check(
        suite,
        ctx,
        column,
        f"{_earlier(parsed)} is not null",
        [parsed],
        value=value,
        action=action,
        rule=rule,
        reason=reason or f"{{column}} {{value}} is not a date ({written_formats(formats, 'YYYY-MM-DD')})",
    )
    return parsed


def timestamp_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = (),
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> str:
    """A time, when given, is ISO 8601 (with or without offset) or one of `formats` (strptime); naive times are
    read in the project's time zone. Returns `<column>__at`, for range, future and freshness checks."""
    parsed = parsed_timestamp(suite, ctx, column, formats, value=value)
    _valid_check(
        suite,
        ctx,
        column,
        f"{_earlier(parsed)} is not null",
        [parsed],
        value=value,
        action=action,
        rule=rule,
        reason=reason or f"{{column}} {{value}} is not a timestamp ({written_formats(formats, 'ISO 8601')})",
    )
    return parsed


def email_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """An e-mail address, when given, looks like one (well-formed junk such as test@test.de is left to the
    standardisation in dbt)."""
    filled = given_column(suite, column, value=value)
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column=filled, regex=EMAIL),
        rule=rule or f"{column}_format",
        reason=reason or "{column} {value} is not an e-mail address (name@domain.tld)",
        action=action,
    )


def phone_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """A phone number, when given, has only the characters phone numbers have (digits, spaces, + ( ) / . -) and
    PHONE_DIGITS digits (an international 00 prefix not counted)."""
    filled = given_column(suite, column, value=value)
    low, high = PHONE_DIGITS
    phone = _earlier(filled)
    _valid_check(
        suite,
        ctx,
        column,
        f"regexp_matches({phone}, {sql.literal(PHONE_CHARACTERS)}) and {digit_count(phone)} between {low} and {high}",
        [filled],
        value=value,
        action=action,
        rule=rule,
        reason=reason
        or f"{{column}} {{value}} is not a phone number ({low} to {high} digits; only digits, spaces and + ( ) / . -)",
    )


def json_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """A JSON value, when given, is valid JSON."""
    filled = given_column(suite, column, value=value)
    _valid_check(
        suite,
        ctx,
        column,
        f"json_valid({_earlier(filled)})",
        [filled],
        value=value,
        action=action,
        rule=rule,
        reason=reason or "{column} {value} is not JSON",
    )


def pattern_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    pattern: str,
    *,
    value: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """A given value matches the regular expression (Python's re for GX, RE2 in DuckDB: write [0-9], not \\d)."""
    filled = given_column(suite, column, value=value)
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column=filled, regex=pattern),
        rule=rule or f"{column}_pattern",
        reason=reason or "{column} {value} does not match the pattern " + pattern,
        action=action,
    )


def allowed_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    values: Sequence[Any],
    *,
    on: str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """A given value is one of `values`: compared as text with the given value (exactly, case included), or
    with `on`, a derived column such as `<column>__number` or `<column>__boolean`."""
    target = on or given_column(suite, column)
    shown = ", ".join(as_text(v) for v in values)
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeInSet(column=target, value_set=list(values)),
        rule=rule or f"{column}_not_allowed",
        reason=reason or f"{{column}} {{value}} is not one of {shown}",
        action=action,
        shows=column,
        label=column,
    )


def bound_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    parsed: str,
    *,
    min_value: float | str | None = None,
    max_value: float | str | None = None,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """The parsed value (number, or date/time as ISO bound) is at least `min_value` / at most `max_value`: one
    rule per bound, `<column>_below_min` or `<column>_above_max`. Give one of the two."""
    if (min_value is None) == (max_value is None):
        raise ValueError("bound_check: give exactly one of min_value or max_value")
    if min_value is not None:
        bound, words, suffix = min_value, "is below the minimum", "below_min"
        expectation = gxe.ExpectColumnValuesToBeBetween(column=parsed, min_value=min_value)
    else:
        bound, words, suffix = max_value, "is above the maximum", "above_max"
        expectation = gxe.ExpectColumnValuesToBeBetween(column=parsed, max_value=max_value)
    if isinstance(bound, str):
        words = "is before" if min_value is not None else "is after"
    check(
        suite,
        ctx,
        expectation,
        rule=rule or f"{column}_{suffix}",
        reason=reason or f"{{column}} {{value}} {words} {as_text(bound)}",
        action=action,
        shows=column,
        label=column,
    )


def future_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    parsed: str,
    *,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """A parsed date or time does not lie after the run (a day of tolerance: clocks and time zones differ)."""
    latest = ctx.as_of + dt.timedelta(days=1)
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column=parsed, max_value=ctx.iso(latest)),
        rule=rule or f"{column}_future",
        reason=reason or f"{{column}} {{value}} lies in the future (after {latest:%Y-%m-%d %H:%M} UTC)",
        action=action,
        shows=column,
        label=column,
    )


def unique_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    within: Sequence[str] = (),
    *,
    keep_zero: bool = False,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """No given value occurs twice in the delivery; with `within`, no value twice for the same values of those
    columns (e.g. a line number within its order_id). Every copy is flagged."""
    filled = given_column(suite, column, keep_zero=keep_zero)
    if within:
        others = [given_column(suite, other, keep_zero=keep_zero) for other in within]
        expectation: Expectation = gxe.ExpectCompoundColumnsToBeUnique(
            column_list=[*others, filled], ignore_row_if="any_value_is_missing"
        )
        scope = f" for the same {', '.join(within)}"
    else:
        expectation = gxe.ExpectColumnValuesToBeUnique(column=filled)
        scope = ""
    check(
        suite,
        ctx,
        expectation,
        rule=rule or f"{column}_duplicate",
        reason=reason or f"{{column}} {{value}} occurs {{count}} times{scope} in this delivery",
        action=action,
        shows=column,
        label=column,
    )


def reference_check(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    *,
    table: str,
    key: str,
    source: str | None = None,
    keep_zero: bool = False,
    action: Action = "quarantine",
    rule: str | None = None,
    reason: str | None = None,
) -> str:
    """A given value exists as `key` in the raw table `raw_<source>.<table>` (default: this table's source), from
    this or an earlier delivery. An orphan waits in quarantine until what it points to arrives
    (`c360 quarantine release <table> --rule <column>_unknown`). Returns `<column>__known` (true/false; NULL
    when no value is given)."""
    source = source or ctx.source
    schema = f"raw_{source}"
    filled = given_column(suite, column, keep_zero=keep_zero)
    if ctx.has_column(schema, table, key):
        relation = ctx.relation(table, schema)
    else:  # nothing delivered yet (or not that column): every value is unknown, until it is
        relation = f"(select cast(null as varchar) as {q(key)} where false)"
    value = _earlier(filled)
    known = derive(
        suite,
        f"{column}__known",
        f"case when {value} is null then null else exists (select 1 from {relation} as referenced "
        f"where cast(referenced.{q(key)} as varchar) = {value}) end",
        shows=column,
        label=column,
        after=[filled],
    )
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeInSet(column=known, value_set=[True]),
        rule=rule or f"{column}_unknown",
        reason=reason
        or f"{{column}} {{value}} is unknown: no row of {source}.{table} has it as {key} (in this or an earlier delivery)",
        action=action,
    )
    return known


# -- composite helpers ---------------------------------------------------------------------------------------


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
    `key` equals it (from this or an earlier delivery). Rules `<parent>_missing` and `<parent>_unknown`.

    `parent`/`child` word the rules and reasons (`contact_missing`: "the event belongs to no contact");
    `no_such` is what the reason says the table lacks (default: the parent).
    """
    required_check(
        suite,
        ctx,
        column,
        rule=f"{parent}_missing",
        reason=f"{{column}} is missing: the {child} belongs to no {parent}",
    )
    reference_check(
        suite,
        ctx,
        column,
        table=table,
        key=key,
        rule=f"{parent}_unknown",
        reason=f"{{column}} {{value}} is not a known {parent} (no such {no_such or parent} in {ctx.source}.{table})",
    )


def timestamp_checks(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = (),
    rule: str | None = None,
    written: str | None = None,
) -> str:
    """A time, when given, parses and does not lie in the future: `<rule or column>_format` and `_future`.
    Returns the parsed column, `<column>__at`, e.g. for freshness_check."""
    parsed = timestamp_check(
        suite,
        ctx,
        column,
        formats,
        rule=f"{rule or column}_format",
        reason=f"{{column}} {{value}} is not {written}" if written else None,
    )
    future_check(suite, ctx, column, parsed, rule=f"{rule or column}_future")
    return parsed


def birth_date_checks(
    suite: gx.ExpectationSuite,
    ctx: SuiteContext,
    column: str,
    formats: Sequence[str] = ("%d.%m.%Y",),
    rule: str = "birth_date",
) -> str:
    """A birth date, when given, is a date (ISO or one of `formats`), not before 1900 and not after the day of the
    check: `<rule>_format` and `<rule>_range`."""
    parsed = date_check(suite, ctx, column, formats, rule=f"{rule}_format")
    check(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column=parsed, min_value=ctx.iso(EARLIEST_BIRTH), max_value=ctx.iso(ctx.as_of)
        ),
        rule=f"{rule}_range",
        reason=f"{{column}} {{value}} is not a plausible birth date (after {ctx.as_of:%Y-%m-%d}, the day of "
        "the check, or before 1900)",
    )
    return parsed
