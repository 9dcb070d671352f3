"""sales.customers — the shop/CRM customers (SQLite: text; PostgreSQL: the database's types).

A customer needs its id and a name; e-mail, phones, postcode (by country: DE five digits, AT/CH four) and
birth date, when given, must be plausible; `updated_at` decides which version of a customer is the latest, so
it must parse and not lie in the future. Categories and the customer number's layout are only reported.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    EARLIEST_BIRTH,
    EMAIL,
    INTEGER,
    PHONE_CHARACTERS,
    PHONE_DIGITS,
    POSTCODE_AT_CH,
    POSTCODE_DE,
    SuiteContext,
    declare_columns,
    derive,
    digits,
    freshness_check,
    given,
    new_suite,
    parse_date,
    parse_timestamp,
    quarantine,
    standard_checks,
    text,
    warn,
)

COLUMNS = (
    "customer_id",
    "customer_number",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "birth_date",
    "street",
    "postcode",
    "city",
    "country_code",
    "created_at",
    "updated_at",
    "is_active",
)


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Shop/CRM customers: one row per customer_id and version (updated_at).")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("customer_id", "first_name", "last_name", "email", "updated_at"))

    derive(suite, "customer_id__text", text("customer_id"), shows="customer_id")
    derive(suite, "name__given", f"coalesce({given('first_name')}, {given('last_name')})")
    derive(suite, "email__checked", given("email"), shows="email")
    for phone in ("phone", "mobile"):
        derive(suite, f"{phone}__checked", given(phone), shows=phone)
        derive(suite, f"{phone}__digits", digits(phone), shows=phone)
    derive(suite, "postcode__checked", given("postcode"), shows="postcode")
    derive(suite, "country__checked", f"upper({given('country_code')})", shows="country_code")
    derive(suite, "birth_date__given", given("birth_date"), shows="birth_date")
    derive(suite, "birth_date__date", parse_date("birth_date"), shows="birth_date")
    derive(suite, "updated_at__at", parse_timestamp("updated_at"), shows="updated_at")
    derive(suite, "created_at__at", parse_timestamp("created_at"), shows="created_at")

    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="customer_id__text", regex=INTEGER),
        rule="customer_id_format",
        reason="{column} {value} is not a number",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="name__given"),
        rule="name_missing",
        reason="neither first_name nor last_name is given: the customer cannot be matched to a person",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column="email__checked", regex=EMAIL),
        rule="email_format",
        reason="{column} {value} is not an e-mail address (name@domain.tld)",
    )
    for phone in ("phone", "mobile"):
        quarantine(
            suite,
            ctx,
            gxe.ExpectColumnValuesToMatchRegex(column=f"{phone}__checked", regex=PHONE_CHARACTERS),
            rule=f"{phone}_characters",
            reason="{column} {value} contains characters a phone number cannot have",
        )
        quarantine(
            suite,
            ctx,
            gxe.ExpectColumnValuesToBeBetween(
                column=f"{phone}__digits", min_value=PHONE_DIGITS[0], max_value=PHONE_DIGITS[1]
            ),
            rule=f"{phone}_length",
            reason="{column} {value} is not a phone number (%s to %s digits)" % PHONE_DIGITS,  # noqa: UP031
        )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(
            column="postcode__checked", regex=POSTCODE_DE, row_condition=Column("country__checked") == "DE"
        ),
        rule="postcode_de",
        reason="{column} {value} is not a German postcode (5 digits)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(
            column="postcode__checked",
            regex=POSTCODE_AT_CH,
            row_condition=Column("country__checked").is_in(["AT", "CH"]),
        ),
        rule="postcode_at_ch",
        reason="{column} {value} is not an Austrian or Swiss postcode (4 digits)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(
            column="birth_date__date", row_condition=Column("birth_date__given").is_not_null()
        ),
        rule="birth_date_format",
        reason="{column} {value} is not a date (YYYY-MM-DD or DD.MM.YYYY)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(
            column="birth_date__date", min_value=ctx.iso(EARLIEST_BIRTH), max_value=ctx.iso(ctx.as_of)
        ),
        rule="birth_date_range",
        reason=f"{{column}} {{value}} is not a plausible birth date (after {ctx.as_of:%Y-%m-%d}, the day of "
        "the check, or before 1900)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="updated_at__at", row_condition=Column("updated_at").is_not_null()),
        rule="updated_at_format",
        reason="{column} {value} is not an ISO 8601 timestamp",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column="updated_at__at", max_value=ctx.iso(ctx.as_of + dt.timedelta(days=1))),
        rule="updated_at_future",
        reason="{column} {value} lies in the future",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="country__checked", value_set=["DE", "AT", "CH"]),
        rule="country_values",
        reason="{column} {value} is not DE, AT or CH",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToMatchRegex(column="customer_number", regex=r"^K-[0-9]+$"),
        rule="customer_number_format",
        reason="{column} {value} is not K-<number>",
    )
    warn(
        suite,
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="updated_at__at",
            column_B="created_at__at",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        rule="updated_after_created",
    )
    freshness_check(suite, ctx, "updated_at__at", label="updated_at")
    return suite
