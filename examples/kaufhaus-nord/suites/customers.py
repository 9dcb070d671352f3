"""sales.customers: what the column rules in customer360.yml cannot say.

- a name: a first or a last name (either is enough);
- the postcode by country: five digits in Germany, four in Austria and Switzerland;
- `updated_at` not before `created_at` (reported only).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    POSTCODE_AT_CH,
    POSTCODE_DE,
    SuiteContext,
    derive,
    given_column,
    parsed_timestamp,
    presence_check,
    quarantine,
    warn,
)
from expectations.values import given


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    for column in ("first_name", "last_name"):
        presence_check(suite, ctx, column)
    name = derive(suite, "name__given", f"coalesce({given('first_name')}, {given('last_name')})", label="name")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column=name),
        rule="name_missing",
        reason="neither first_name nor last_name is given: the customer cannot be matched to a person",
    )

    postcode = given_column(suite, "postcode")
    country = derive(suite, "country__code", f"upper({given('country_code')})", shows="country_code")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(column=postcode, regex=POSTCODE_DE, row_condition=Column(country) == "DE"),
        rule="postcode_de",
        reason="{column} {value} is not a German postcode (5 digits)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToMatchRegex(
            column=postcode, regex=POSTCODE_AT_CH, row_condition=Column(country).is_in(["AT", "CH"])
        ),
        rule="postcode_at_ch",
        reason="{column} {value} is not an Austrian or Swiss postcode (4 digits)",
    )

    # the parsed times, derived as the column rule `type: timestamp` derives them (updated_at has that rule)
    updated = parsed_timestamp(suite, ctx, "updated_at")
    created = parsed_timestamp(suite, ctx, "created_at")
    warn(
        suite,
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=updated, column_B=created, or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        rule="updated_before_created",
        reason="updated_at lies before created_at",
    )
