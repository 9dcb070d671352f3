"""marts.customer_360 — the 360° view, one row per customer_id (public contract)."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import SuiteContext, block


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    block(
        suite,
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        rule="not_empty",
        reason="customer_360 is empty",
    )
    block(
        suite,
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        rule="customer_id_present",
        reason="rows without customer_id",
    )
    block(
        suite,
        gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
        rule="customer_id_unique",
        reason="customer_id occurs more than once",
    )
