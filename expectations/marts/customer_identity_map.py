"""marts.customer_identity_map — one row per source record with the customer it belongs to (public contract):
every record has exactly one row and a customer."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.kit import SuiteContext, block, warn


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    block(
        suite,
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        rule="not_empty",
        reason="the identity map is empty",
    )
    for column in ("source_system", "source_record_id", "customer_id"):
        block(
            suite,
            gxe.ExpectColumnValuesToNotBeNull(column=column),
            rule=f"{column}_present",
            reason=f"records without {column}",
        )
    block(
        suite,
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_system", "source_record_id"]),
        rule="record_unique",
        reason="a source record is mapped more than once",
    )
    block(
        suite,
        gxe.ExpectColumnValuesToBeUnique(column="record_key"),
        rule="record_key_unique",
        reason="record_key is not unique",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="best_match_probability", min_value=0, max_value=1),
        rule="probability_range",
        reason="a match probability outside 0..1",
    )
    warn(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="cluster_size", min_value=1),
        rule="cluster_size_positive",
        reason="a cluster size below 1",
    )
