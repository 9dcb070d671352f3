"""sales.order_lines — the lines of the shop's orders.

A line must belong to a known order (raw_sales.orders) and have a positive quantity, non-negative prices and
discounts, and no more returned than bought; (order_id, line_number) is unique within a delivery.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import (
    SuiteContext,
    declare_columns,
    new_suite,
    number_check,
    parent_checks,
    quarantine,
    standard_checks,
)

COLUMNS = (
    "order_line_id",
    "order_id",
    "line_number",
    "sku",
    "product_name",
    "category",
    "quantity",
    "unit_price",
    "discount_amount",
    "returned_quantity",
    "updated_at",
)
NUMBERS = ("quantity", "unit_price", "discount_amount", "returned_quantity")


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Order lines: one row per order_line_id and version (updated_at).")
    declare_columns(suite, COLUMNS)
    standard_checks(suite, ctx, required=("order_line_id", "order_id", "quantity", "unit_price"))

    parent_checks(suite, ctx, "order_id", table="orders", key="order_id", parent="order", child="line")
    for column in NUMBERS:
        number_check(suite, ctx, column)
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnValuesToBeBetween(column="quantity__number", min_value=1),
        rule="quantity_positive",
        reason="{column} {value} is not a positive quantity",
    )
    for column in ("unit_price", "discount_amount", "returned_quantity"):
        quarantine(
            suite,
            ctx,
            gxe.ExpectColumnValuesToBeBetween(column=f"{column}__number", min_value=0),
            rule=f"{column}_negative",
            reason="{column} {value} is negative",
        )
    quarantine(
        suite,
        ctx,
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="quantity__number",
            column_B="returned_quantity__number",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
        ),
        rule="returned_more_than_bought",
        reason="more items returned than bought",
    )
    quarantine(
        suite,
        ctx,
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["order_id", "line_number"], ignore_row_if="any_value_is_missing"
        ),
        rule="line_number_duplicate",
        reason="line {count} times in the same order in this delivery",
    )
    return suite
