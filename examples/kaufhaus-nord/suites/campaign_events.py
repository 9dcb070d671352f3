"""marketing.campaign_events: what the column rules in customer360.yml cannot say: a click names its url
(reported only)."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.kit import SuiteContext, declare_columns, warn


def build(suite: gx.ExpectationSuite, ctx: SuiteContext) -> None:
    declare_columns(suite, ["url", "event_type"])
    warn(
        suite,
        gxe.ExpectColumnValuesToNotBeNull(column="url", row_condition=Column("event_type") == "click"),
        rule="click_url",
        reason="a click without its url",
    )
