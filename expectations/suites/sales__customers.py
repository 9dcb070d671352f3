"""sales.customers — the shop/CRM customers (SQLite: text; PostgreSQL: the database's types).

A customer needs its id and a name; e-mail, phones, postcode (by country: DE five digits, AT/CH four) and
birth date, when given, must be plausible; `updated_at` decides which version of a customer is the latest, so
it must parse and not lie in the future. Categories and the customer number's layout are only reported.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    INTEGER,
    POSTCODE_AT_CH,
    POSTCODE_DE,
    SuiteContext,
    birth_date_checks,
    declare_columns,
    derive,
    email_check,
    freshness_check,
    given,
    new_suite,
    parse_timestamp,
    phone_checks,
    quarantine,
    standard_checks,
    text,
    timestamp_checks,
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
    derive(suite, "postcode__checked", given("postcode"), shows="postcode")
    derive(suite, "country__checked", f"upper({given('country_code')})", shows="country_code")
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
    email_check(suite, ctx, "email")
    phone_checks(suite, ctx, "phone")
    phone_checks(suite, ctx, "mobile")
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
    birth_date_checks(suite, ctx, "birth_date")
    timestamp_checks(suite, ctx, "updated_at")
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
