"""marts.dim_customer — the golden record, one row per customer_id (public contract)."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import EMAIL, SuiteContext, block, warn


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    block(
        suite,
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        rule="not_empty",
        reason="dim_customer is empty",
    )
    block(
        suite,
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        rule="customer_id_present",
        reason="customers without customer_id",
    )
    block(
        suite,
        gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
        rule="customer_id_unique",
        reason="customer_id occurs more than once",
    )
    if "email" in ctx.columns:
        warn(
            suite,
            gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL),
            rule="email_format",
            reason="golden e-mail addresses that are not addresses",
        )
