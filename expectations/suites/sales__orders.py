"""sales.orders — the shop's orders.

An order must belong to a known customer (raw_sales.customers), carry a total that is a non-negative number
and an order time that parses and does not lie in the future. Status, channel, currency are only reported.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import (
    SuiteContext,
    declare_columns,
    derive,
    freshness_check,
    new_suite,
    number_check,
    parent_checks,
    parse_timestamp,
    quarantine,
    standard_checks,
    timestamp_checks,
    warn,
)

COLUMNS = (
    "order_id",
    "order_number",
    "customer_id",
    "ordered_at",
    "channel",
    "status",
    "total_amount",
    "currency",
    "payment_method",
    "updated_at",
)
MAX_PLAUSIBLE_TOTAL = 100_000.0


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Shop orders: one row per order_id and version (updated_at).")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("order_id", "customer_id", "ordered_at", "total_amount"))

    derive(suite, "updated_at__at", parse_timestamp("updated_at"), shows="updated_at")

    parent_checks(suite, ctx, "customer_id", table="customers", key="customer_id", parent="customer", child="order")
    number_check(suite, ctx, "total_amount")
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column="total_amount__number", min_value=0),
        rule="total_amount_negative",
        reason="{column} {value} is negative",
    )
    timestamp_checks(suite, ctx, "ordered_at")
    warn(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="total_amount__number", max_value=MAX_PLAUSIBLE_TOTAL),
        rule="total_amount_plausible",
        reason=f"{{column}} {{value}} is above {MAX_PLAUSIBLE_TOTAL:,.0f}",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(
            column="status", value_set=["completed", "cancelled", "returned", "partially_returned"]
        ),
        rule="status_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=["online", "store", "phone"]),
        rule="channel_values",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$"),
        rule="currency_format",
        reason="{column} {value} is not an ISO 4217 code",
    )
    freshness_check(suite, ctx, "updated_at__at", label="updated_at")
    return suite
