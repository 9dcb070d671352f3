"""sales.order_lines: what the column rules in customer360.yml cannot say: no more items returned than bought."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import SuiteContext, quarantine


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    # quantity__number, returned_quantity__number: parsed by the column rules `type: integer`
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
        shows="returned_quantity",
    )
