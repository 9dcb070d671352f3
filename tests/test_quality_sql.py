"""Every row-level expectation selects in SQL exactly the rows Great Expectations counts as unexpected: the
two engines run on one small frame full of awkward values (nulls, blanks, duplicates, boundary values)."""

from __future__ import annotations

import datetime as dt

import duckdb
import great_expectations.expectations as gxe
import pandas as pd
import pytest
from great_expectations.expectations.row_conditions import Column

from expectations import sql
from expectations.checks import to_frame
from expectations.context import GxSession

UTC = dt.UTC

ROWS = """
select * from (values
    (1, 'a@b.de',      'DE', 10.0,  3,    timestamptz '2026-01-01 00:00:00+00', 'x', 'k1', 'l1', true),
    (2, 'kaputt',      'DE', -1.0,  5,    timestamptz '2031-01-01 00:00:00+00', 'y', 'k1', 'l1', false),
    (3, null,          null, null,  null, null,                                 null, 'k2', 'l1', null),
    (4, 'x@y',         'AT', 0.0,   0,    timestamptz '1899-12-31 00:00:00+00', '',  'k3', null, false),
    (5, ' c@d.de',     'CH', 100.0, 2,    timestamptz '1900-01-01 00:00:00+00', 'x', null, null, true),
    (6, 'e@f.com',     'DE', 99.5,  9,    timestamptz '2026-11-23 00:00:00+00', 'z', 'k3', null, null),
    (7, 'ü@ö.de',      'FR', 5.0,   1,    timestamptz '2000-06-01 00:00:00+00', 'x', 'k4', 'l2', true)
) as t(id, email, country, amount, quantity, born, letter, key_a, key_b, valid)
"""

CASES = [
    gxe.ExpectColumnValuesToNotBeNull(column="email"),
    gxe.ExpectColumnValuesToBeNull(column="letter"),
    gxe.ExpectColumnValuesToMatchRegex(column="email", regex=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    gxe.ExpectColumnValuesToNotMatchRegex(column="email", regex=r"kaputt"),
    gxe.ExpectColumnValuesToMatchRegexList(column="letter", regex_list=["^x$", "^y$"]),
    gxe.ExpectColumnValuesToBeInSet(column="country", value_set=["DE", "AT", "CH"]),
    # the yes/no columns of format and reference rules (kit._valid_check, kit.reference_check): NULL = not given
    gxe.ExpectColumnValuesToBeInSet(column="valid", value_set=[True]),
    gxe.ExpectColumnValuesToBeInSet(column="amount", value_set=[10.0, 0, 5]),
    gxe.ExpectColumnValuesToNotBeInSet(column="letter", value_set=["z", ""]),
    gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=99.5),
    gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=100, strict_min=True, strict_max=True),
    gxe.ExpectColumnValuesToBeBetween(
        column="born", min_value="1900-01-01T00:00:00+00:00", max_value="2026-11-23T00:00:00+00:00"
    ),
    gxe.ExpectColumnValueLengthsToBeBetween(column="email", min_value=4, max_value=7),
    gxe.ExpectColumnValuesToBeUnique(column="key_a"),
    gxe.ExpectCompoundColumnsToBeUnique(column_list=["key_a", "key_b"], ignore_row_if="any_value_is_missing"),
    gxe.ExpectCompoundColumnsToBeUnique(column_list=["key_a", "key_b"], ignore_row_if="all_values_are_missing"),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="amount", column_B="quantity", or_equal=True, ignore_row_if="either_value_is_missing"
    ),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="amount", column_B="quantity"),
    # row conditions, with pandas' treatment of missing values
    gxe.ExpectColumnValuesToMatchRegex(column="email", regex=r"\.de$", row_condition=Column("country") == "DE"),
    gxe.ExpectColumnValuesToNotBeNull(column="email", row_condition=Column("country") != "DE"),
    gxe.ExpectColumnValuesToNotBeNull(column="amount", row_condition=Column("country").is_not_in(["AT"])),
    gxe.ExpectColumnValuesToNotBeNull(column="amount", row_condition=Column("country").is_in(["AT", "CH"])),
    gxe.ExpectColumnValuesToBeBetween(
        column="quantity", max_value=4, row_condition=(Column("amount") > 0) & Column("letter").is_not_null()
    ),
    gxe.ExpectColumnValuesToBeBetween(
        column="quantity", max_value=4, row_condition=(Column("amount") <= 5) | Column("country").is_null()
    ),
    gxe.ExpectColumnValuesToBeUnique(column="key_b", row_condition=Column("letter") == "x"),
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    con = duckdb.connect()
    con.execute(f"create table t as {ROWS}")
    frame = to_frame(con.execute("select * from t"))
    return GxSession(tmp_path_factory.mktemp("gx")), con, frame


@pytest.mark.parametrize("expectation", CASES, ids=lambda e: f"{sql.expectation_type(e)}")
def test_sql_selects_what_gx_counts(engines, expectation):
    import great_expectations as gx

    session, con, frame = engines
    suite = gx.ExpectationSuite(name="t", expectations=[expectation.copy()])
    result = session.validate(suite, frame, run_name="sql-vs-gx").results[0]
    assert not (result.exception_info or {}).get("raised_exception"), result.exception_info
    predicate = sql.predicate(expectation, 0)
    windows = ", ".join(f"{expr} as {name}" for name, expr in predicate.windows.items())
    relation = f"(select *{', ' + windows if windows else ''} from t)"
    selected = con.execute(f"select count(*) from {relation} where {predicate.unexpected}").fetchone()[0]
    assert selected == result.result["unexpected_count"]


def test_string_row_conditions_are_refused():
    with pytest.raises(sql.UnsupportedExpectation, match="Condition objects"):
        sql.condition_sql('country == "DE"')


def test_an_expectation_without_translation_cannot_quarantine():
    from expectations.kit import SuiteContext, new_suite, quarantine

    ctx = SuiteContext(source="s", table="t", as_of=dt.datetime(2026, 1, 1, tzinfo=UTC))
    suite = new_suite(ctx, "t")
    with pytest.raises(sql.UnsupportedExpectation, match="cannot quarantine rows"):
        quarantine(suite, ctx, gxe.ExpectColumnValuesToBeDateutilParseable(column="x"), rule="x_date")


def test_reason_templates_quote_values_and_fill_facts():
    con = duckdb.connect()
    reason = sql.reason_sql(
        "{column} {value} occurs {count} times",
        column="e_mail__checked",
        label="e_mail",
        shown="e_mail",
        facts={"count": "2"},
    )
    assert con.execute(f"select {reason} from (select 'a''b' as e_mail)").fetchone()[0] == "e_mail 'a'b' occurs 2 times"
    assert con.execute(f"select {reason} from (select null as e_mail)").fetchone()[0] == "e_mail empty occurs 2 times"
    long_value = "x" * 200
    text = con.execute(f"select {reason} from (select '{long_value}' as e_mail)").fetchone()[0]
    assert len(text) < 120 and "…" in text


def test_literals_and_bounds():
    assert sql.literal("O'Brien") == "'O''Brien'"
    assert sql.bound("2026-01-01T00:00:00+00:00") == "cast('2026-01-01T00:00:00+00:00' as timestamptz)"
    assert sql.bound(5) == "5" and sql.literal(True) == "true" and sql.literal(None) == "null"
    assert pd.isna(pd.NA)  # the frame's missing value, which both engines treat as "missing"


def test_a_validated_frame_is_not_kept_alive(tmp_path):
    """GX caches each asset's last frame; the gate must not hold every table's largest batch for the whole run."""
    import gc
    import weakref

    import great_expectations as gx

    con = duckdb.connect()
    frame = to_frame(con.execute(ROWS))
    session = GxSession(tmp_path)
    session.validate(gx.ExpectationSuite(name="t", expectations=[CASES[0].copy()]), frame, run_name="cache")
    kept = weakref.ref(frame)
    del frame
    gc.collect()
    assert kept() is None
