"""sales.orders — the shop's orders.

An order must belong to a known customer (raw_sales.customers), carry a total that is a non-negative number
and an order time that parses and does not lie in the future. Status, channel, currency are only reported.
"""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import (
    SuiteContext,
    declare_columns,
    derive,
    freshness_check,
    given,
    new_suite,
    parse_number,
    parse_timestamp,
    quarantine,
    reference,
    standard_checks,
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

    derive(
        suite,
        "customer_id__known",
        reference("customer_id", ctx.relation("customers"), "customer_id"),
        shows="customer_id",
    )
    derive(suite, "total_amount__given", given("total_amount"), shows="total_amount")
    derive(suite, "total_amount__number", parse_number("total_amount"), shows="total_amount")
    derive(suite, "ordered_at__at", parse_timestamp("ordered_at"), shows="ordered_at")
    derive(suite, "updated_at__at", parse_timestamp("updated_at"), shows="updated_at")

    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        rule="customer_missing",
        reason="{column} is missing: the order belongs to no customer",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(
            column="customer_id__known", row_condition=Column("customer_id").is_not_null()
        ),
        rule="customer_unknown",
        reason="{column} {value} is not a known customer (no such customer in sales.customers)",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(
            column="total_amount__number", row_condition=Column("total_amount__given").is_not_null()
        ),
        rule="total_amount_format",
        reason="{column} {value} is not a number",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column="total_amount__number", min_value=0),
        rule="total_amount_negative",
        reason="{column} {value} is negative",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToNotBeNull(column="ordered_at__at", row_condition=Column("ordered_at").is_not_null()),
        rule="ordered_at_format",
        reason="{column} {value} is not an ISO 8601 timestamp",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column="ordered_at__at", max_value=ctx.iso(ctx.as_of + dt.timedelta(days=1))),
        rule="ordered_at_future",
        reason="{column} {value} lies in the future",
    )
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
