"""marts.customer_360 — the 360° view, one row per customer_id (public contract).

Checked after the marts are built and before they are published; a failure means "do not publish".
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import SuiteContext, block, new_suite


def build(ctx: SuiteContext) -> gx.ExpectationSuite:
    suite = new_suite(ctx, "Customer 360: one row per customer_id.")
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
    return suite
